import { existsSync } from 'node:fs';
import path from 'node:path';

/**
 * Where a worker thread starts: the compiled `<name>.js` in `dir` when running compiled, else (ts-node, jest) a
 * shim that registers ts-node and loads `<name>.ts`, named by `tsEntry`, which the caller adds to `workerData`.
 */
export function workerThreadEntry(dir: string, name: string): { filename: string; tsEntry?: string } {
  const compiled = path.join(dir, `${name}.js`);
  if (__filename.endsWith('.js') && existsSync(compiled)) return { filename: compiled };
  return { filename: path.join(__dirname, 'ts-worker-shim.js'), tsEntry: path.join(dir, name) };
}
