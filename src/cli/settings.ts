/**
 * Where the CLI connects: flags > environment > config file > the running `assay dev` (recorded under
 * `.assay/dev.json`) > defaults. The same commands work against the embedded dev stack and a
 * production cluster; only these settings change.
 */
import { readFile, writeFile, mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import YAML from 'yaml';
import { z } from 'zod';
import { DEFAULT_TASK_QUEUE } from '../../workflows/definitions';
import { usageError } from './exit-codes';

export const DEFAULT_TEMPORAL_ADDRESS = 'localhost:7233';
export const DEFAULT_NAMESPACE = 'default';

/** Global options every command accepts (set on the root program). */
export interface GlobalOptions {
  config?: string;
  address?: string;
  namespace?: string;
  taskQueue?: string;
  databaseUrl?: string;
  home?: string;
  verbose?: boolean;
}

/** The root program's options (global flags come before the subcommand: `assay --address h:p scan list`). */
export function globalOptions(command: { parent: unknown; opts(): Record<string, unknown> }): GlobalOptions {
  let root = command as { parent: unknown; opts(): Record<string, unknown> };
  while (root.parent) root = root.parent as typeof root;
  return root.opts() as GlobalOptions;
}

export interface Settings {
  temporalAddress: string;
  namespace: string;
  taskQueue: string;
  /** Results store URL; undefined when neither configured nor recorded by `assay dev`. */
  databaseUrl?: string;
  /** Directory of local state (`.assay`): the dev server's SQLite file, the embedded store. */
  home: string;
  /** Where each value came from, for `--verbose` and error messages. */
  sources: { temporalAddress: string; databaseUrl: string };
  verbose: boolean;
}

/** The optional `assay.config.json` / `assay.config.yaml` file. */
const configFileSchema = z
  .object({
    temporal: z
      .object({
        address: z.string().optional(),
        namespace: z.string().optional(),
        taskQueue: z.string().optional(),
      })
      .strict()
      .optional(),
    temporalAddress: z.string().optional(),
    namespace: z.string().optional(),
    taskQueue: z.string().optional(),
    databaseUrl: z.string().optional(),
  })
  .strict();
export type AssayConfigFile = z.infer<typeof configFileSchema>;

/** What `assay dev` records so that other commands in the same directory find it. */
export interface DevRecord {
  pid: number;
  temporalAddress: string;
  namespace: string;
  uiUrl?: string;
  databaseUrl: string;
  taskQueue: string;
  startedAt: string;
  /** The Temporal dev server's pid (its own process group), for clean-up checks. */
  temporalPid?: number;
}

export const CONFIG_FILE_NAMES = ['assay.config.json', 'assay.config.yaml', 'assay.config.yml'];

export function assayHome(
  options: Pick<GlobalOptions, 'home'>,
  env: NodeJS.ProcessEnv = process.env,
): string {
  return path.resolve(options.home ?? env.ASSAY_HOME ?? '.assay');
}

async function readIfExists(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw usageError(`cannot read ${file}: ${(err as Error).message}`, err);
  }
}

/** Parses a JSON or YAML file (by extension; YAML is a superset of JSON otherwise). */
export function parseStructured(text: string, file: string): unknown {
  try {
    return file.endsWith('.json') ? JSON.parse(text) : YAML.parse(text);
  } catch (err) {
    throw usageError(
      `${file}: not valid ${file.endsWith('.json') ? 'JSON' : 'YAML'}: ${(err as Error).message.split('\n')[0]}`,
      err,
    );
  }
}

export async function loadConfigFile(explicit?: string): Promise<{ file?: string; config: AssayConfigFile }> {
  const candidates = explicit
    ? [path.resolve(explicit)]
    : CONFIG_FILE_NAMES.map((name) => path.resolve(name));
  for (const file of candidates) {
    const text = await readIfExists(file);
    if (text === undefined) {
      if (explicit) throw usageError(`config file not found: ${explicit}`);
      continue;
    }
    const parsed = configFileSchema.safeParse(parseStructured(text, file) ?? {});
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw usageError(`${file}: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
    }
    return { file, config: parsed.data };
  }
  return { config: {} };
}

export function devRecordPath(home: string): string {
  return path.join(home, 'dev.json');
}

/** The running `assay dev`'s record, if its process is still alive. */
export async function readDevRecord(home: string): Promise<DevRecord | undefined> {
  const text = await readIfExists(devRecordPath(home));
  if (!text) return undefined;
  try {
    const record = JSON.parse(text) as DevRecord;
    process.kill(record.pid, 0);
    return record;
  } catch {
    return undefined;
  }
}

export async function writeDevRecord(home: string, record: DevRecord): Promise<void> {
  await mkdir(home, { recursive: true });
  // The embedded store URL carries its local password: owner-only.
  await writeFile(devRecordPath(home), JSON.stringify(record, null, 2), { mode: 0o600 });
}

export async function removeDevRecord(home: string): Promise<void> {
  await rm(devRecordPath(home), { force: true });
}

export async function resolveSettings(
  options: GlobalOptions,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Settings> {
  const home = assayHome(options, env);
  const { file, config } = await loadConfigFile(options.config ?? env.ASSAY_CONFIG);
  const dev = await readDevRecord(home);

  const pick = (
    candidates: Array<[string | undefined, string]>,
    fallback: [string, string],
  ): { value: string; source: string } => {
    for (const [value, source] of candidates) if (value) return { value, source };
    return { value: fallback[0], source: fallback[1] };
  };
  const address = pick(
    [
      [options.address, '--address'],
      [env.TEMPORAL_ADDRESS, 'TEMPORAL_ADDRESS'],
      [config.temporal?.address ?? config.temporalAddress, file ?? 'config'],
      [dev?.temporalAddress, `assay dev (${devRecordPath(home)})`],
    ],
    [DEFAULT_TEMPORAL_ADDRESS, 'default'],
  );
  const namespace = pick(
    [
      [options.namespace, '--namespace'],
      [env.TEMPORAL_NAMESPACE, 'TEMPORAL_NAMESPACE'],
      [config.temporal?.namespace ?? config.namespace, 'config'],
      [dev?.namespace, 'assay dev'],
    ],
    [DEFAULT_NAMESPACE, 'default'],
  );
  const taskQueue = pick(
    [
      [options.taskQueue, '--task-queue'],
      [env.ASSAY_TASK_QUEUE, 'ASSAY_TASK_QUEUE'],
      [config.temporal?.taskQueue ?? config.taskQueue, 'config'],
      [dev?.taskQueue, 'assay dev'],
    ],
    [DEFAULT_TASK_QUEUE, 'default'],
  );
  const database = pick(
    [
      [options.databaseUrl, '--database-url'],
      [env.ASSAY_DATABASE_URL, 'ASSAY_DATABASE_URL'],
      [config.databaseUrl, file ?? 'config'],
      [dev?.databaseUrl, `assay dev (${devRecordPath(home)})`],
    ],
    ['', 'none'],
  );
  let databaseUrl = database.value || undefined;
  let databaseSource = database.source;
  if (!databaseUrl) {
    databaseUrl = await embeddedStoreUrl(home);
    if (databaseUrl) databaseSource = `embedded store (${path.join(home, 'store')})`;
  }
  return {
    temporalAddress: address.value,
    namespace: namespace.value,
    taskQueue: taskQueue.value,
    databaseUrl,
    home,
    sources: { temporalAddress: address.source, databaseUrl: databaseSource },
    verbose: Boolean(options.verbose),
  };
}

/** The embedded store running from `<home>/store` (started by `assay dev`), if it answers. */
async function embeddedStoreUrl(home: string): Promise<string | undefined> {
  const { resolveResultsStoreUrl } = await import('../results/embedded');
  return resolveResultsStoreUrl({ dir: path.join(home, 'store'), env: {} });
}
