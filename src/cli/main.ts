/**
 * The `assay` command line. `main(argv)` runs it as a process (exit code set, stack traces only with
 * --verbose); `runCli(argv, io)` runs it in-process for tests and returns the exit code.
 */
import { Command, CommanderError, Option } from 'commander';
import { registerDevCommand } from './commands/dev';
import { registerScanCommands, type CommandContext } from './commands/scan';
import { registerScheduleCommands } from './commands/schedule';
import { registerWorkerCommand } from './commands/worker';
import { describeChain, toCliError } from './errors';
import { EXIT, EXIT_CODES_HELP } from './exit-codes';
import { processIo, type CliIo } from './io';
import { registerClassify } from './integrations';

/** package.json is two levels up from src/cli, three from dist/src/cli. */
const VERSION: string = (() => {
  for (const candidate of ['../../package.json', '../../../package.json']) {
    try {
      return (require(candidate) as { version: string }).version;
    } catch {
      // try the next location
    }
  }
  return '0.0.0';
})();

const ENVIRONMENT_HELP = `Environment:
  TEMPORAL_ADDRESS    Temporal frontend host:port (default: the running \`assay dev\`, else localhost:7233)
  TEMPORAL_NAMESPACE  Temporal namespace (default "default")
  ASSAY_TASK_QUEUE    task queue of the scan workers (default "assay")
  ASSAY_DATABASE_URL  results store, postgres://user:password@host:port/db (default: the embedded store of \`assay dev\`)
  ASSAY_CONFIG        config file (default ./assay.config.json or ./assay.config.yaml)
  ASSAY_HOME          local state directory (default ./.assay)`;

export function buildProgram(ctx: CommandContext): Command {
  const program = new Command('assay')
    .description(
      'Assay: find where sensitive data lives in file shares, S3 buckets and databases (durable scans on Temporal)',
    )
    .version(VERSION, '-V, --version')
    .enablePositionalOptions()
    .option(
      '--config <file>',
      'config file with temporalAddress, namespace, taskQueue, databaseUrl (JSON or YAML)',
    )
    .option('--address <host:port>', 'Temporal frontend address (overrides TEMPORAL_ADDRESS)')
    .option('--namespace <name>', 'Temporal namespace (overrides TEMPORAL_NAMESPACE)')
    .option('--task-queue <name>', 'task queue (overrides ASSAY_TASK_QUEUE)')
    .option('--database-url <url>', 'results store URL (overrides ASSAY_DATABASE_URL)')
    .addOption(new Option('--home <dir>', 'local state directory (overrides ASSAY_HOME)').hideHelp(false))
    .option('-v, --verbose', 'show full error details (stack traces)')
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText('after', `\n${ENVIRONMENT_HELP}\n\n${EXIT_CODES_HELP}\n\nDocs: docs/cli.md`);

  registerDevCommand(program, ctx);
  registerWorkerCommand(program, ctx);
  registerScanCommands(program, ctx);
  registerScheduleCommands(program, ctx);
  registerClassify(program, { stdout: ctx.io.stdout, stderr: ctx.io.stderr, setExitCode: ctx.setExitCode });

  // Every (sub)command: usage errors exit 2, output through ctx.io, exit codes listed in help.
  const configure = (command: Command) => {
    command.exitOverride().configureOutput({
      writeOut: (text) => ctx.io.stdout.write(text),
      writeErr: (text) => ctx.io.stderr.write(text),
      outputError: (text, write) => write(text),
    });
    if (command !== program) command.addHelpText('after', `\n${EXIT_CODES_HELP}`);
    command.commands.forEach(configure);
  };
  configure(program);
  return program;
}

/** Runs the CLI; returns the exit code. Never throws. */
export async function runCli(
  argv: string[],
  io: CliIo = processIo,
  abortSignal?: AbortSignal,
): Promise<number> {
  let exitCode: number = EXIT.OK;
  const controller = new AbortController();
  abortSignal?.addEventListener('abort', () => controller.abort(), { once: true });
  if (abortSignal?.aborted) controller.abort();
  const ctx: CommandContext = {
    io,
    setExitCode: (code) => (exitCode = code),
    abortSignal: controller.signal,
  };
  const program = buildProgram(ctx);
  const verbose = argv.includes('--verbose') || argv.includes('-v');
  try {
    await program.parseAsync(argv);
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version "fail" with exit code 0; parse errors were already printed.
      if (err.exitCode === 0 || err.code === 'commander.helpDisplayed' || err.code === 'commander.version')
        return EXIT.OK;
      if (err.code === 'commander.help') return EXIT.OK;
      return EXIT.USAGE;
    }
    const cliError = toCliError(err);
    io.stderr.write(`assay: ${cliError.message}\n`);
    if (verbose) io.stderr.write(`${describeChain(err)}\n`);
    return cliError.exitCode;
  }
}

/** The process entry point (bin/assay.js): SIGINT/SIGTERM stop long-running commands cleanly. */
export function main(argv: string[]): void {
  const controller = new AbortController();
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    if (signals > 1) {
      process.stderr.write(`assay: second ${signal}, exiting now\n`);
      process.exit(130);
    }
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  runCli(argv, processIo, controller.signal).then(
    (code) => {
      process.exitCode = code;
      // Drivers (gRPC, pg pools) may keep handles open: leave once output is flushed.
      setImmediate(() => process.exit(code));
    },
    (err: unknown) => {
      process.stderr.write(`assay: ${(err as Error)?.message ?? err}\n`);
      process.exit(EXIT.FINDINGS_OR_FAILED);
    },
  );
}
