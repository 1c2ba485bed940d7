// The tiny notes API of docs/tutorial.md: a few lines of node:http on 127.0.0.1, nothing else.
// Every request needs the header `X-API-Key: tutorial-key`.
//   GET  /me                          who the key belongs to
//   GET  /notes?page_size=&page_token=   a page of notes and the token of the next page
//   POST /notes {"text": "..."}      add a note
// PORT sets the port (default 8787). The notes live in memory: a restart forgets new ones.
import { createServer } from 'node:http';

const KEY = 'tutorial-key';
const notes = ['buy milk', 'call Bob', 'water the plants', 'book the dentist', 'read docs/cli.md'].map(
  (text, i) => ({ id: i + 1, text }),
);

function send(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(`${JSON.stringify(body)}\n`);
}

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (req.headers['x-api-key'] !== KEY) return send(res, 401, { error: 'missing or wrong X-API-Key' });
  if (req.method === 'GET' && url.pathname === '/me') return send(res, 200, { name: 'Ada', plan: 'free' });
  if (req.method === 'GET' && url.pathname === '/notes') {
    const size = Math.min(Math.max(Number(url.searchParams.get('page_size') ?? 2) || 2, 1), 50);
    const start = Number(url.searchParams.get('page_token') ?? 0) || 0;
    const next = start + size < notes.length ? String(start + size) : null;
    return send(res, 200, { notes: notes.slice(start, start + size), next_page_token: next });
  }
  if (req.method === 'POST' && url.pathname === '/notes') {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      let text;
      try {
        text = JSON.parse(body).text;
      } catch {
        // answered below
      }
      if (typeof text !== 'string' || text === '') return send(res, 400, { error: 'send {"text": "..."}' });
      const note = { id: notes.length + 1, text };
      notes.push(note);
      send(res, 201, note);
    });
    return;
  }
  send(res, 404, { error: `no route ${req.method} ${url.pathname}` });
});

const port = Number(process.env.PORT ?? 8787);
server.listen(port, '127.0.0.1', () => {
  console.log(`notes API on http://127.0.0.1:${server.address().port} (key: ${KEY})`);
});
// Ctrl-C or kill: stop at once (the notes are only in memory).
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(0));
