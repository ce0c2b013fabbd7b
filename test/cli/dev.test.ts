/**
 * `assay dev` as a new user meets it: in an empty directory, on custom free ports, start the stack,
 * scan examples/files with a second `assay` process, produce the HTML report, compare with
 * examples/files/EXPECTED.json, then Ctrl-C (SIGINT) and check nothing is left running.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { getFreePort } from '../../src/services/managed-process';
import { launchBrowser, openReport } from './browser';
import { ASSAY_BIN, childEnv, REPO_ROOT, spawnAssay } from './helpers';

jest.setTimeout(150_000);

const EXAMPLES = path.join(REPO_ROOT, 'examples', 'files');

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

let tmp: string;
let dev: ChildProcess | undefined;
let devOutput = '';

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'assay-dev-'));
  // Traversable: as root, the embedded PostgreSQL runs as its own account and must reach .assay/store.
  await chmod(tmp, 0o711);
});

afterAll(async () => {
  if (dev && dev.exitCode === null) {
    dev.kill('SIGINT');
    await new Promise((resolve) => dev?.once('exit', resolve));
  }
  await rm(tmp, { recursive: true, force: true });
});

/** Starts `assay dev` in `cwd` on free ports and waits until it says it is ready. */
async function startDev(
  cwd: string,
): Promise<{ grpcPort: number; uiPort: number; exited: Promise<number | null> }> {
  const grpcPort = await getFreePort();
  const uiPort = await getFreePort();
  devOutput = '';
  dev = spawn(process.execPath, [ASSAY_BIN, 'dev', '--port', String(grpcPort), '--ui-port', String(uiPort)], {
    cwd,
    env: childEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const started = dev;
  const exited = new Promise<number | null>((resolve) => started.once('exit', (code) => resolve(code)));
  started.stdout?.on('data', (chunk: Buffer) => (devOutput += chunk.toString()));
  started.stderr?.on('data', (chunk: Buffer) => (devOutput += chunk.toString()));
  const deadline = Date.now() + 120_000;
  while (!devOutput.includes('ready — press Ctrl-C to stop')) {
    if (started.exitCode !== null) throw new Error(`assay dev exited early:\n${devOutput}`);
    if (Date.now() > deadline) throw new Error(`assay dev not ready:\n${devOutput}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return { grpcPort, uiPort, exited };
}

/** The dev stack's server pids and store port, from its record and PostgreSQL's pid file. */
async function devServers(
  cwd: string,
): Promise<{ temporalPid: number; postgresPid: number; storePort: number }> {
  const record = JSON.parse(await readFile(path.join(cwd, '.assay', 'dev.json'), 'utf8'));
  const postgresPid = Number(
    (await readFile(path.join(cwd, '.assay', 'store', 'data', 'postmaster.pid'), 'utf8')).split('\n')[0],
  );
  return {
    temporalPid: record.temporalPid,
    postgresPid,
    storePort: Number(new URL(record.databaseUrl).port),
  };
}

async function until(condition: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return true;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return condition();
}

test('assay dev: start, scan the examples, HTML report, Ctrl-C leaves nothing behind', async () => {
  const { grpcPort, uiPort, exited } = await startDev(tmp);
  const env = childEnv();
  expect(devOutput).toContain(`Temporal Web UI   http://localhost:${uiPort}`);
  expect(devOutput).toContain(`Temporal gRPC     127.0.0.1:${grpcPort}`);
  const ui = await fetch(`http://127.0.0.1:${uiPort}/`);
  expect(ui.status).toBe(200);

  const { temporalPid, postgresPid, storePort } = await devServers(tmp);
  expect(alive(temporalPid)).toBe(true);
  expect(alive(postgresPid)).toBe(true);

  // A second terminal, same directory: the CLI finds the dev stack by itself.
  const scan = await spawnAssay(['scan', 'start', EXAMPLES, '--wait', '--json'], {
    cwd: tmp,
    env,
    timeoutMs: 90_000,
  });
  expect(scan.stderr).toBe('');
  expect(scan.code).toBe(0);
  const result = JSON.parse(scan.stdout);
  const expected = JSON.parse(await readFile(path.join(EXAMPLES, 'EXPECTED.json'), 'utf8'));
  expect(result.scanId).toMatch(/^scan-files-\d{8}-\d{9}z$/);
  expect(result.phase).toBe('completed');
  expect(result.enumerated).toBe(expected.objects);
  expect(result.findingsByInfoType).toEqual(expected.findingsByInfoType);

  const html = await spawnAssay(
    ['scan', 'results', result.scanId, '--format', 'html', '--out', 'report.html'],
    { cwd: tmp, env },
  );
  expect(html.code).toBe(0);
  const browser = await launchBrowser();
  try {
    const report = await openReport(browser, path.join(tmp, 'report.html'));
    expect(report.consoleErrors).toEqual([]);
    expect(report.externalRequests).toEqual([]);
    expect(await report.text('total-findings')).toBe(String(expected.totalFindings));
    expect(await report.text('objects-enumerated')).toBe(String(expected.objects));
    const counts = await report.page.$$eval('[data-testid="infotype-count"]', (els) =>
      Object.fromEntries(els.map((el) => [el.getAttribute('data-infotype'), Number(el.textContent)])),
    );
    expect(counts).toEqual(expected.findingsByInfoType);
  } finally {
    await browser.close();
  }

  dev?.kill('SIGINT');
  let timer: NodeJS.Timeout | undefined;
  const code = await Promise.race([
    exited,
    new Promise((resolve) => (timer = setTimeout(() => resolve('timeout'), 60_000))),
  ]);
  clearTimeout(timer);
  expect(code).toBe(0);
  expect(devOutput).toContain('stopped');
  expect(alive(temporalPid)).toBe(false);
  expect(alive(postgresPid)).toBe(false);
  expect(await listening(grpcPort)).toBe(false);
  expect(await listening(uiPort)).toBe(false);
  expect(await listening(storePort)).toBe(false);
  expect(existsSync(path.join(tmp, '.assay', 'dev.json'))).toBe(false);
  // State survives for the next start.
  expect(existsSync(path.join(tmp, '.assay', 'temporal.db'))).toBe(true);
});

test('assay dev killed outright (SIGKILL): its servers stop with it, and the next start works', async () => {
  const home = await mkdtemp(path.join(tmp, 'killed-'));
  await chmod(home, 0o711);
  const first = await startDev(home);
  const servers = await devServers(home);
  expect(alive(servers.temporalPid) && alive(servers.postgresPid)).toBe(true);
  dev?.kill('SIGKILL');
  await first.exited;
  // The kernel signals each server when its owner dies (setpriv --pdeathsig); no clean-up code ran.
  const stopped = await until(() => !alive(servers.temporalPid) && !alive(servers.postgresPid), 30_000);
  if (!stopped)
    for (const pid of [servers.temporalPid, servers.postgresPid]) if (alive(pid)) process.kill(pid);
  expect(stopped).toBe(true);
  expect(await listening(first.grpcPort)).toBe(false);
  expect(await listening(servers.storePort)).toBe(false);
  // The stale record is ignored and the store's data survives: a new start in the same place comes up.
  const second = await startDev(home);
  const restarted = await devServers(home);
  expect(alive(restarted.temporalPid) && alive(restarted.postgresPid)).toBe(true);
  dev?.kill('SIGINT');
  expect(await second.exited).toBe(0);
});
