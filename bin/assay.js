#!/usr/bin/env node
'use strict';
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
