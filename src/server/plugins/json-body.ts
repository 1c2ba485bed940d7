import { MAX_JSON_DEPTH, jsonTextTooDeep } from '../../core/json-depth.js';
import { FieldError } from '../errors.js';
import type { App } from '../types.js';

/**
 * The JSON body parser: Fastify's own (prototype poisoning refused), after a check that the
 * text nests at most MAX_JSON_DEPTH levels. JSON.parse takes any depth, but execute, MCP and
 * the schemas walk the value recursively: a 100,000-deep body (a few hundred KB) overflowed
 * the stack there.
 */
export class JsonTooDeep extends FieldError {
  constructor() {
    super('body', `the JSON body nests deeper than ${MAX_JSON_DEPTH} levels of arrays and objects`, {
      hint: `flatten the value: at most ${MAX_JSON_DEPTH} levels are accepted`,
    });
  }
}

export function installJsonBody(app: App): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (jsonTextTooDeep(text)) {
      done(new JsonTooDeep(), undefined);
      return;
    }
    void parse(request, text, done);
  });
}
