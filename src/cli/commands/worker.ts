/** `assay worker`: a scan worker against the configured Temporal and results store. */
import { redactDatabaseUrl } from '../../results/embedded';
import type { Command } from 'commander';
import { EXIT } from '../exit-codes';
import { startWorker } from '../integrations';
import { globalOptions, resolveSettings } from '../settings';
import type { CommandContext } from './scan';

async function workerAction(cmd: Command, ctx: CommandContext): Promise<void> {
  const settings = await resolveSettings(globalOptions(cmd));
  const { openStore } = await import('../integrations');
  // Fail fast, with one line, when the store is not reachable (the worker would only fail per activity).
  const store = await openStore(settings.databaseUrl);
  await store.close();
  const { connectTemporal } = await import('../temporal-client');
  const session = await connectTemporal(settings);
  await session.close();

  const worker = await startWorker({
    temporalAddress: settings.temporalAddress,
    namespace: settings.namespace,
    taskQueue: settings.taskQueue,
    databaseUrl: settings.databaseUrl,
  });
  ctx.io.stderr.write(
    `worker polling task queue "${settings.taskQueue}" on ${settings.temporalAddress} (namespace ${settings.namespace}); results in ${redactDatabaseUrl(settings.databaseUrl as string)}\n`,
  );
  const aborted = new Promise<'signal'>((resolve) => {
    if (ctx.abortSignal.aborted) resolve('signal');
    ctx.abortSignal.addEventListener('abort', () => resolve('signal'), { once: true });
  });
  const outcome = await Promise.race([
    aborted,
    worker.done.then(
      () => 'stopped',
      (err: unknown) => err as Error,
    ),
  ]);
  if (outcome === 'signal') {
    ctx.io.stderr.write('worker shutting down (in-flight activities are handed back to Temporal) …\n');
    await worker.shutdown();
    ctx.setExitCode(EXIT.OK);
  } else if (outcome instanceof Error) {
    throw outcome;
  } else {
    ctx.setExitCode(EXIT.OK);
  }
}

export function registerWorkerCommand(program: Command, ctx: CommandContext): void {
  program
    .command('worker')
    .description(
      'run a scan worker (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, ASSAY_TASK_QUEUE, ASSAY_DATABASE_URL)',
    )
    .addHelpText(
      'after',
      `
The worker runs the scanDataSource workflow and its activities. Data-source secrets are read here, from
this process's environment: PGPASSWORD, MYSQL_PWD, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or the variable a
datasource spec names in passwordEnv.

Worker settings:
  ASSAY_MAX_CONCURRENT_ACTIVITIES  activities run at once (default 8)
  ASSAY_CLASSIFIER_THREADS         classifier threads (default cores - 1; 0 = main thread)
  ASSAY_FINGERPRINT_KEY            fingerprint key (default: the file .assay/fingerprint.key)
  ASSAY_METRICS_ADDRESS            host:port serving Prometheus metrics at /metrics (default: none)`,
    )
    .action((_opts: unknown, cmd: Command) => workerAction(cmd, ctx));
}
