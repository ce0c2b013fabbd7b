// Worker entry used when running from TypeScript sources (ts-node, jest): the compiled build points
// piscina at worker.js directly. Registers ts-node only when the compiled sibling does not exist.
const fs = require('node:fs');
const path = require('node:path');

if (!fs.existsSync(path.join(__dirname, 'worker.js')) && fs.existsSync(path.join(__dirname, 'worker.ts'))) {
  require('ts-node').register({ transpileOnly: true, compilerOptions: { module: 'commonjs' } });
}
module.exports = require('./worker');
