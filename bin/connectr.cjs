#!/usr/bin/env node
// The CLI is compiled to dist/ by `npm run build` (run by `npm ci` through the prepare script).
// CommonJS, as is what it loads, so that a command does not start Node's ES module loader.
require('../dist/bundle/start.cjs');
