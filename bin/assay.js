#!/usr/bin/env -S node --max-semi-space-size=64
'use strict';
// A 64 MB young generation (Node's default is 16 MB): a worker allocates short-lived buffers, texts and results for
// every object, and with the default its main thread paused for garbage collection about four times as often
// (`npm run bench:e2e` prints the pauses per object). Starting `node bin/assay.js` without the flag keeps the default.
// Runs the compiled CLI when `npm run build` has produced it; from source otherwise (development, tests).
const path = require('node:path');
const fs = require('node:fs');

const compiled = path.join(__dirname, '..', 'dist', 'src', 'cli', 'main.js');
if (!process.env.ASSAY_FROM_SOURCE && fs.existsSync(compiled)) {
  require(compiled).main(process.argv);
} else {
  require('ts-node').register({ transpileOnly: true, project: path.join(__dirname, '..', 'tsconfig.json') });
  require(path.join(__dirname, '..', 'src', 'cli', 'main.ts')).main(process.argv);
}
