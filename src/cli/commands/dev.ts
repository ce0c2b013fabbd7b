/**
 * `assay dev`: the whole platform in one process tree for a laptop — a Temporal dev server (SQLite
 * state in .assay/temporal.db, Web UI), the embedded results store (.assay/store) and a worker. Ctrl-C
 * stops all three; nothing is left running.
 */
import { redactDatabaseUrl } from '../../results/embedded';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import type { Command } from 'commander';
import { startTemporalDevServer, type TemporalDevServer } from '../../services/temporal';
import { EXIT, usageError } from '../exit-codes';
import { startEmbeddedStore, startWorker, type EmbeddedStore, type RunningWorker } from '../integrations';
import { globalOptions, readDevRecord, removeDevRecord, resolveSettings, writeDevRecord } from '../settings';
import { parseIntOption, type CommandContext } from './scan';

interface DevOptions {
  port: number;
  uiPort: number;
  headless?: boolean;
  worker: boolean;
}

/** Resolves once the namespace answers (the frontend accepts connections slightly before). */
async function waitForNamespace(address: string, namespace: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    let connection: Connection | undefined;
    try {
      connection = await Connection.connect({ address, connectTimeout: 2000 });
      await connection.workflowService.describeNamespace({ namespace });
      return;
    } catch (err) {
      lastError = err;
      await new Promise((resolve) => setTimeout(resolve, 250));
    } finally {
      await connection?.close().catch(() => undefined);
    }
  }
  throw new Error(`Temporal namespace ${namespace} not ready: ${(lastError as Error)?.message}`);
}

async function devAction(opts: DevOptions, cmd: Command, ctx: CommandContext): Promise<void> {
  const settings = await resolveSettings(globalOptions(cmd), { ...process.env, TEMPORAL_ADDRESS: '' });
  const { home, namespace, taskQueue } = settings;
  const running = await readDevRecord(home);
  if (running)
    throw usageError(`assay dev is already running from ${home} (pid ${running.pid}); stop it first`);

  const out = (line: string) => ctx.io.stdout.write(`${line}\n`);
  let temporal: TemporalDevServer | undefined;
  let store: EmbeddedStore | undefined;
  let worker: RunningWorker | undefined;
  let stopping: Promise<void> | undefined;
  const stopAll = () =>
    (stopping ??= (async () => {
      await worker?.shutdown().catch(() => undefined);
      await Promise.allSettled([store?.stop(), temporal?.stop()]);
      await removeDevRecord(home).catch(() => undefined);
    })());

  try {
    out(
      `starting Temporal (gRPC 127.0.0.1:${opts.port}${opts.headless ? '' : `, UI ${opts.uiPort}`}) and the results store in ${home} …`,
    );
    // An explicitly configured database wins over the embedded store.
    const externalStore =
      Boolean(settings.databaseUrl) && !/^(assay dev|embedded store)/.test(settings.sources.databaseUrl);
    const [temporalResult, storeResult] = await Promise.allSettled([
      startTemporalDevServer({
        dbFile: path.join(home, 'temporal.db'),
        port: opts.port,
        uiPort: opts.headless ? false : opts.uiPort,
        namespace,
        logFile: path.join(home, 'temporal.log'),
      }),
      externalStore ? Promise.resolve(undefined) : startEmbeddedStore(path.join(home, 'store')),
    ]);
    if (temporalResult.status === 'fulfilled') temporal = temporalResult.value;
    if (storeResult.status === 'fulfilled') store = storeResult.value;
    if (temporalResult.status === 'rejected') {
      throw usageError(
        `could not start the Temporal dev server on port ${opts.port}: ${(temporalResult.reason as Error).message.split('\n')[0]} (is the port in use? try --port)`,
        temporalResult.reason,
      );
    }
    if (storeResult.status === 'rejected') {
      throw usageError(
        `could not start the embedded results store: ${(storeResult.reason as Error).message.split('\n')[0]}`,
        storeResult.reason,
      );
    }
    const databaseUrl = store?.url ?? (settings.databaseUrl as string);
    const server = temporal as TemporalDevServer;
    await waitForNamespace(server.address, namespace);
    if (opts.worker)
      worker = await startWorker({ temporalAddress: server.address, namespace, taskQueue, databaseUrl });
    await writeDevRecord(home, {
      pid: process.pid,
      temporalAddress: server.address,
      namespace,
      uiUrl: server.uiUrl,
      databaseUrl,
      taskQueue,
      startedAt: new Date().toISOString(),
      temporalPid: server.process.pid,
    });
    const uiUrl = server.uiUrl?.replace('127.0.0.1', 'localhost');
    out('');
    out('Assay dev is running');
    out(`  Temporal gRPC     ${server.address}  (namespace ${namespace})`);
    if (uiUrl) out(`  Temporal Web UI   ${uiUrl}`);
    out(`  Results store     ${redactDatabaseUrl(databaseUrl)}`);
    out(
      `  Worker            ${opts.worker ? `polling task queue "${taskQueue}"` : 'not started (--no-worker)'}`,
    );
    out(`  State             ${home}`);
    out('');
    out('Try: assay scan start ./examples/files --wait');
    out('ready — press Ctrl-C to stop');
  } catch (err) {
    await stopAll();
    throw err;
  }

  // Run until a signal (main turns SIGINT/SIGTERM into ctx.abortSignal) or until the worker dies.
  const workerDied = worker?.done.then(
    () => 'worker stopped',
    (err: unknown) => `worker failed: ${(err as Error).message.split('\n')[0]}`,
  );
  const aborted = new Promise<string>((resolve) => {
    if (ctx.abortSignal.aborted) resolve('signal');
    ctx.abortSignal.addEventListener('abort', () => resolve('signal'), { once: true });
  });
  let reason = await Promise.race([aborted, ...(workerDied ? [workerDied] : [])]);
  // The SDK runtime also stops workers on SIGINT: a worker that stopped because of the signal is no failure.
  if (ctx.abortSignal.aborted) reason = 'signal';
  out('stopping: worker, results store, Temporal …');
  await stopAll();
  out('stopped');
  if (reason !== 'signal') {
    ctx.io.stderr.write(`${reason}\n`);
    ctx.setExitCode(EXIT.FINDINGS_OR_FAILED);
  } else {
    ctx.setExitCode(EXIT.OK);
  }
}

export function registerDevCommand(program: Command, ctx: CommandContext): void {
  program
    .command('dev')
    .description('run Temporal (with Web UI), the results store and a worker locally until Ctrl-C')
    .option('--port <port>', 'Temporal gRPC port', parseIntOption('--port', 1, 65535), 7233)
    .option('--ui-port <port>', 'Temporal Web UI port', parseIntOption('--ui-port', 1, 65535), 8233)
    .option('--headless', 'no Web UI')
    .option('--no-worker', 'do not run a worker in this process (run `assay worker` elsewhere)')
    .addHelpText(
      'after',
      `
State lives in .assay/ (or ASSAY_HOME): temporal.db keeps scans across restarts, store/ the results.
Other commands run in the same directory find this server and store automatically.
With ASSAY_DATABASE_URL set, that database is used instead of the embedded store.`,
    )
    .action((opts: DevOptions, cmd: Command) => devAction(opts, cmd, ctx));
}
