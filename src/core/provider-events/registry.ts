import type { WebhookShape } from '../connector/schema.js';
import { verifyDropbox } from './dropbox.js';
import { verifyGithub } from './github.js';
import { verifyGmail } from './gmail.js';
import { verifyGraph } from './graph.js';
import { MAX_PUSH_BYTES } from './parts.js';
import { verifySlack } from './slack.js';
import { refused, type ShapeVerifier, type Verdict, type VerifyInput } from './types.js';

/** One verifier per shape: a new shape is a module and a line here. */
const SHAPES: { readonly [S in WebhookShape]: ShapeVerifier<S> } = {
  dropbox: verifyDropbox,
  microsoft_graph: verifyGraph,
  slack: verifySlack,
  github: verifyGithub,
  gmail_pubsub: verifyGmail,
};

/** Verifies a push by the shape its connector declares: a handshake to answer, events, or a refusal. */
export async function verifyPush(input: VerifyInput): Promise<Verdict> {
  if (input.request.body.length > MAX_PUSH_BYTES) return refused(413, 'too_large');
  const verifier = SHAPES[input.definition.shape] as ShapeVerifier<WebhookShape>;
  return verifier(input);
}
