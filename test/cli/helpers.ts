/** Runs the `assay` CLI in-process (fast, captured output) or as a child process (exit codes, signals). */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { Client } from 'pg';
import { runCli } from '../../src/cli/main';
import type { CliIo } from '../../src/cli/io';
import { testServices } from '../harness/services-info';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');
export const ASSAY_BIN = path.join(REPO_ROOT, 'bin', 'assay.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runAssay(
  args: string[],
  options: { abortSignal?: AbortSignal; tty?: boolean } = {},
): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: { write: (text: string) => (stdout += text), isTTY: options.tty },
    stderr: { write: (text: string) => (stderr += text), isTTY: options.tty },
  };
  const code = await runCli(['node', 'assay', ...args], io, options.abortSignal);
  return { code, stdout, stderr };
}

/** Environment for child processes: no inherited Temporal/store settings unless given. */
export function childEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ASSAY_FROM_SOURCE: '1' };
  for (const name of [
    'TEMPORAL_ADDRESS',
    'TEMPORAL_NAMESPACE',
    'ASSAY_TASK_QUEUE',
    'ASSAY_DATABASE_URL',
    'ASSAY_CONFIG',
    'ASSAY_HOME',
  ]) {
    delete env[name];
  }
  for (const [key, value] of Object.entries(extra)) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return env;
}

export function spawnAssay(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [ASSAY_BIN, ...args], {
      cwd: options.cwd ?? REPO_ROOT,
      env: options.env ?? childEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`assay ${args.join(' ')} timed out\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, options.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

/** A fresh database on the harness PostgreSQL for one test file's results store. */
export async function createTestDatabase(prefix: string): Promise<{ url: string; drop(): Promise<void> }> {
  const pg = testServices().postgres;
  const name = `${prefix}_${process.pid}_${Date.now().toString(36)}`.toLowerCase();
  const admin = `postgres://${pg.user}:${encodeURIComponent(pg.password)}@${pg.host}:${pg.port}/postgres`;
  const client = new Client({ connectionString: admin });
  await client.connect();
  await client.query(`CREATE DATABASE "${name}"`);
  await client.end();
  return {
    url: `postgres://${pg.user}:${encodeURIComponent(pg.password)}@${pg.host}:${pg.port}/${name}`,
    async drop() {
      const c = new Client({ connectionString: admin });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await c.end();
    },
  };
}

/** Exactly one non-empty line, and nothing that looks like a stack trace. */
export function expectOneCleanLine(text: string): string {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  expect(lines).toHaveLength(1);
  expect(text).not.toMatch(/\n\s+at /);
  return lines[0];
}
