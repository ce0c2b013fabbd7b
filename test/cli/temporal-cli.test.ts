/**
 * Interoperability: a scan started with the `temporal` CLI (no assay involved) runs on `assay worker`
 * (a child process configured only through the environment), and `temporal workflow query --name
 * progress` answers. The worker's Prometheus endpoint counts the scan. SIGINT stops the worker cleanly.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { SCAN_METRICS } from '../../activities/metrics';
import { getFreePort } from '../../src/services/managed-process';
import { temporalCliPath } from '../../src/services/tools';
import { testServices } from '../harness/services-info';
import { ASSAY_BIN, childEnv, createTestDatabase, REPO_ROOT } from './helpers';

jest.setTimeout(120_000);
const execFileAsync = promisify(execFile);

let tmp: string;
let db: { url: string; drop(): Promise<void> };

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'assay-temporal-cli-'));
  db = await createTestDatabase('assay_cli_tctl');
});

afterAll(async () => {
  await db?.drop();
  await rm(tmp, { recursive: true, force: true });
});

test('temporal workflow start → assay worker → temporal workflow query progress', async () => {
  const { temporal } = testServices();
  const taskQueue = `assay-cli-tctl-${process.pid}`;
  const folder = path.join(tmp, 'docs');
  await mkdir(folder);
  const content = 'Write to dana.kim@example.org or lee.park@example.org\n';
  await writeFile(path.join(folder, 'a.txt'), content);
  const metricsAddress = `127.0.0.1:${await getFreePort()}`;

  const worker = spawn(process.execPath, [ASSAY_BIN, 'worker'], {
    cwd: tmp,
    env: childEnv({
      TEMPORAL_ADDRESS: temporal.address,
      TEMPORAL_NAMESPACE: temporal.namespace,
      ASSAY_TASK_QUEUE: taskQueue,
      ASSAY_DATABASE_URL: db.url,
      ASSAY_METRICS_ADDRESS: metricsAddress,
      LOG_LEVEL: 'warn',
    }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  worker.stdout.on('data', (c: Buffer) => (output += c.toString()));
  worker.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | null>((resolve) => worker.once('exit', (code) => resolve(code)));
  try {
    const deadline = Date.now() + 90_000;
    while (!output.includes('worker polling task queue')) {
      if (worker.exitCode !== null) throw new Error(`assay worker exited:\n${output}`);
      if (Date.now() > deadline) throw new Error(`assay worker not ready:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const cli = temporalCliPath();
    const common = ['--address', temporal.address, '--namespace', temporal.namespace];
    const workflowId = `scan-tctl-${Date.now()}`;
    const input = { datasource: { id: 'docs', type: 'filesystem', config: { roots: [folder] } } };
    await execFileAsync(
      cli,
      [
        'workflow',
        'start',
        ...common,
        '--task-queue',
        taskQueue,
        '--type',
        'scanDataSource',
        '--workflow-id',
        workflowId,
        '--input',
        JSON.stringify(input),
      ],
      { cwd: REPO_ROOT },
    );
    await execFileAsync(cli, ['workflow', 'result', ...common, '--workflow-id', workflowId], {
      timeout: 60_000,
    });
    const { stdout } = await execFileAsync(cli, [
      'workflow',
      'query',
      ...common,
      '--workflow-id',
      workflowId,
      '--name',
      'progress',
      '--output',
      'json',
    ]);
    // `--output json` prints {"queryResult": [<progress>]} (older CLIs: the bare result).
    const parsed = JSON.parse(stdout) as { queryResult?: unknown[] } | unknown[];
    const progress = Array.isArray(parsed)
      ? parsed[0]
      : Array.isArray(parsed.queryResult)
        ? parsed.queryResult[0]
        : parsed;
    expect(progress).toMatchObject({
      scanId: workflowId,
      datasourceId: 'docs',
      phase: 'completed',
      enumerated: 1,
      classified: 1,
      failed: 0,
      findingsByInfoType: { EMAIL_ADDRESS: 2 },
    });

    const metrics = await (await fetch(`http://${metricsAddress}/metrics`)).text();
    const sample = (name: string, labels: Record<string, string> = {}): number[] =>
      metrics
        .split('\n')
        .filter(
          (line) =>
            line.startsWith(`${name}{`) &&
            Object.entries({ datasource: 'docs', datasource_type: 'filesystem', ...labels }).every(([k, v]) =>
              line.includes(`${k}="${v}"`),
            ),
        )
        .map((line) => Number(line.slice(line.lastIndexOf(' ') + 1)));
    expect(sample(SCAN_METRICS.enumerated)).toEqual([1]);
    expect(sample(SCAN_METRICS.classified)).toEqual([1]);
    expect(sample(SCAN_METRICS.findings, { info_type: 'EMAIL_ADDRESS' })).toEqual([2]);
    expect(sample(SCAN_METRICS.bytesScanned)).toEqual([Buffer.byteLength(content)]);
    expect(sample(SCAN_METRICS.failed)).toEqual([]);
    // Temporal's own worker metrics are served alongside.
    expect(metrics).toMatch(/^temporal_activity_execution_latency_bucket\{/m);
    // Labels never carry paths or values.
    expect(metrics).not.toContain('example.org');
    expect(metrics).not.toContain(folder);
  } finally {
    worker.kill('SIGINT');
  }
  expect(await exited).toBe(0);
});
