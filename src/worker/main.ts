/** Entry point: `node -r ts-node/register/transpile-only src/worker/main.ts` (or dist/src/worker/main.js). */
import { SystemLogger } from '../core/logger';
import { runWorker } from './index';

const logger = new SystemLogger({ base: { component: 'worker' } });
runWorker({ logger }).then(
  () => {
    logger.info('worker stopped');
    logger.flush();
  },
  (err: unknown) => {
    logger.error('worker failed', { error: err instanceof Error ? err.message : String(err) });
    logger.flush();
    process.exitCode = 1;
  },
);
