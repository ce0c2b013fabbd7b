import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * MB of JavaScript heap that `run` leaves reachable (heap used after a full GC, before and after). Tests use it to
 * check that processed content is not kept alive by what outlives it (caches, findings).
 */
export async function retainedHeapMb(run: () => unknown): Promise<number> {
  setFlagsFromString('--expose-gc');
  const collectGarbage = runInNewContext('gc') as () => void;
  collectGarbage();
  const before = process.memoryUsage().heapUsed;
  await run();
  collectGarbage();
  return (process.memoryUsage().heapUsed - before) / 1e6;
}
