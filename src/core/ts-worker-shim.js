// Worker-thread entry when running from TypeScript sources (ts-node, jest): compiled builds start the .js entry
// directly (see worker-thread.ts). The module to load travels in workerData.tsEntry.
const { workerData } = require('node:worker_threads');

require('ts-node').register({ transpileOnly: true, compilerOptions: { module: 'commonjs' } });
module.exports = require(workerData.tsEntry);
