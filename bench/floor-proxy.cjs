// The least a Node proxy does, for bench/serve.mjs to compare connectr serve's raw proxy with:
// Fastify (connectr's server) and undici (its HTTP client), one route forwarding to the
// upstream with the API key added and the answer streamed back. No auth, database, checks or
// log: whatever connectr serve costs above this is its own.
const Fastify = require('fastify');
const { Agent, request } = require('undici');

const upstream = process.argv[2];
const agent = new Agent({ keepAliveTimeout: 30_000 });
const app = Fastify({ logger: false });
app.get('/proxy/*', async (req, reply) => {
  const answer = await request(`${upstream}/${req.params['*']}`, {
    headers: { 'x-api-key': 'bench-key' },
    dispatcher: agent,
  });
  void reply.code(answer.statusCode).header('content-type', answer.headers['content-type']);
  return reply.send(answer.body);
});
app.listen({ port: 0, host: '127.0.0.1' }).then(() => console.log(app.server.address().port));
