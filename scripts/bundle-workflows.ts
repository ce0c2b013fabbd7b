/** Build step: bundles the workflow code into dist/workflow-bundle.js (the worker loads it in production). */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';

async function main(): Promise<void> {
  // Runs as dist/scripts/bundle-workflows.js: the compiled workflows are in dist/workflows.
  const distRoot = path.resolve(__dirname, '..');
  const workflowsPath = require.resolve(path.join(distRoot, 'workflows'));
  const { code } = await bundleWorkflowCode({ workflowsPath });
  const out = path.join(distRoot, 'workflow-bundle.js');
  await mkdir(path.dirname(out), { recursive: true });
  await writeFile(out, code);
  console.log(`workflow bundle: ${out} (${Math.round(code.length / 1024)} KiB)`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
