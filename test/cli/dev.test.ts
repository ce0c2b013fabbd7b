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

test('assay dev: start, scan the examples, HTML report, Ctrl-C leaves nothing behind', async () => {
  const grpcPort = await getFreePort();
  const uiPort = await getFreePort();
  const env = childEnv();
  dev = spawn(process.execPath, [ASSAY_BIN, 'dev', '--port', String(grpcPort), '--ui-port', String(uiPort)], {
    cwd: tmp,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => dev?.once('exit', (code) => resolve(code)));
  dev.stdout?.on('data', (chunk: Buffer) => (devOutput += chunk.toString()));
  dev.stderr?.on('data', (chunk: Buffer) => (devOutput += chunk.toString()));
  const deadline = Date.now() + 120_000;
  while (!devOutput.includes('ready — press Ctrl-C to stop')) {
    if (dev.exitCode !== null) throw new Error(`assay dev exited early:\n${devOutput}`);
    if (Date.now() > deadline) throw new Error(`assay dev not ready:\n${devOutput}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  expect(devOutput).toContain(`Temporal Web UI   http://localhost:${uiPort}`);
  expect(devOutput).toContain(`Temporal gRPC     127.0.0.1:${grpcPort}`);
  const ui = await fetch(`http://127.0.0.1:${uiPort}/`);
  expect(ui.status).toBe(200);

  const record = JSON.parse(await readFile(path.join(tmp, '.assay', 'dev.json'), 'utf8'));
  const postgresPid = Number(
    (await readFile(path.join(tmp, '.assay', 'store', 'data', 'postmaster.pid'), 'utf8')).split('\n')[0],
  );
  const storePort = Number(new URL(record.databaseUrl).port);
  expect(alive(record.temporalPid)).toBe(true);
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

  dev.kill('SIGINT');
  let timer: NodeJS.Timeout | undefined;
  const code = await Promise.race([
    exited,
    new Promise((resolve) => (timer = setTimeout(() => resolve('timeout'), 60_000))),
  ]);
  clearTimeout(timer);
  expect(code).toBe(0);
  expect(devOutput).toContain('stopped');
  expect(alive(record.temporalPid)).toBe(false);
  expect(alive(postgresPid)).toBe(false);
  expect(await listening(grpcPort)).toBe(false);
  expect(await listening(uiPort)).toBe(false);
  expect(await listening(storePort)).toBe(false);
  expect(existsSync(path.join(tmp, '.assay', 'dev.json'))).toBe(false);
  // State survives for the next start.
  expect(existsSync(path.join(tmp, '.assay', 'temporal.db'))).toBe(true);
});
