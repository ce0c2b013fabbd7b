/**
 * `assay schedule`: a recurring incremental scan as a Temporal Schedule on the harness server, with a worker in
 * this process: create, list, trigger (each run a scan of its own; the second reads only the changed file),
 * pause, resume, delete, and the usage errors.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { ScheduleRow } from '../../src/cli/commands/schedule';
import { startWorker, type RunningWorker } from '../../src/cli/integrations';
import { testServices } from '../harness/services-info';
import { createTestDatabase, runAssay } from './helpers';

jest.setTimeout(120_000);

let tmp: string;
let folder: string;
let db: { url: string; drop(): Promise<void> };
let worker: RunningWorker;
let global: string[];
const taskQueue = `assay-cli-schedule-${process.pid}`;
const scheduleId = `nightly-share-${Date.now().toString(36)}`;

/** The schedule's `list` row once `ready` holds: list reads Temporal's visibility, which follows changes late. */
async function listed(ready: (row: ScheduleRow | undefined) => boolean): Promise<ScheduleRow | undefined> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const result = await runAssay([...global, 'schedule', 'list', '--json']);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    const row = (JSON.parse(result.stdout) as ScheduleRow[]).find((r) => r.scheduleId === scheduleId);
    if (ready(row) || Date.now() > deadline) return row;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

interface ScheduleShown {
  paused: boolean;
  runs: number;
  runningScanIds: string[];
  recentScans: Array<{ scanId: string; scheduledAt: string; startedAt: string }>;
}

async function shown(): Promise<ScheduleShown> {
  const result = await runAssay([...global, 'schedule', 'show', scheduleId, '--json']);
  expect(result).toMatchObject({ code: 0, stderr: '' });
  return JSON.parse(result.stdout) as ScheduleShown;
}

/** Triggers a run and waits for its scan (one not among `earlier`) to complete; returns its JSON status. */
async function triggerAndWait(earlier: string[]): Promise<Record<string, unknown>> {
  const deadline = Date.now() + 60_000;
  // A run never overlaps the previous one: the schedule learns that a scan ended shortly after it did.
  while ((await shown()).runningScanIds.length > 0) {
    if (Date.now() > deadline) throw new Error('the previous scan is still running');
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  expect(await runAssay([...global, 'schedule', 'trigger', scheduleId])).toMatchObject({ code: 0 });
  let scanId: string | undefined;
  while (!scanId) {
    scanId = (await shown()).recentScans.map((r) => r.scanId).find((id) => !earlier.includes(id));
    if (scanId) break;
    if (Date.now() > deadline) throw new Error('the triggered scan did not start');
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  for (;;) {
    const status = await runAssay([...global, 'scan', 'status', scanId, '--json']);
    expect(status.code).toBe(0);
    const json = JSON.parse(status.stdout) as Record<string, unknown>;
    if (['completed', 'failed', 'cancelled'].includes(json.phase as string)) return json;
    if (Date.now() > deadline) throw new Error(`scan ${scanId} did not end: ${status.stdout}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

beforeAll(async () => {
  process.env.ASSAY_FROM_SOURCE = '1';
  process.env.LOG_LEVEL ??= 'warn';
  tmp = await mkdtemp(path.join(os.tmpdir(), 'assay-cli-schedule-'));
  folder = path.join(tmp, 'share');
  await mkdir(folder);
  await writeFile(path.join(folder, 'contacts.txt'), 'Alice: alice.smith@example.org\n');
  await writeFile(path.join(folder, 'notes.txt'), 'Nothing to see here.\n');
  db = await createTestDatabase('assay_cli_schedule');
  const { temporal } = testServices();
  global = ['--address', temporal.address, '--namespace', temporal.namespace, '--task-queue', taskQueue];
  global.push('--database-url', db.url);
  worker = await startWorker({
    temporalAddress: temporal.address,
    namespace: temporal.namespace,
    taskQueue,
    databaseUrl: db.url,
  });
});

afterAll(async () => {
  await runAssay([...global, 'schedule', 'delete', scheduleId]);
  await worker?.shutdown();
  await db?.drop();
  await rm(tmp, { recursive: true, force: true });
});

test('create, list, trigger twice (incremental), pause, resume and delete a scan schedule', async () => {
  const created = await runAssay([
    ...global,
    'schedule',
    'create',
    folder,
    '--name',
    'share',
    '--every',
    '1d',
    '--incremental',
    '--id',
    scheduleId,
    '--json',
  ]);
  expect(created.code).toBe(0);
  const createdJson = JSON.parse(created.stdout) as Record<string, unknown>;
  expect(createdJson).toMatchObject({ scheduleId, datasourceId: 'share', paused: false });
  // The first run is due within a day of now.
  const next = Date.parse(createdJson.nextRunAt as string);
  expect(next).toBeGreaterThan(Date.now() - 1000);
  expect(next).toBeLessThanOrEqual(Date.now() + 86_400_000);

  expect(
    await runAssay([...global, 'schedule', 'create', folder, '--every', '1h', '--id', scheduleId]),
  ).toMatchObject({
    code: 2,
    stderr: `assay: schedule ${scheduleId} already exists: delete it first, or give another --id\n`,
  });

  expect(await listed((row) => row !== undefined)).toEqual({
    scheduleId,
    datasourceId: 'share',
    spec: 'every 1d',
    paused: false,
    nextRunAt: createdJson.nextRunAt,
  });

  const first = await triggerAndWait([]);
  expect(first).toMatchObject({
    phase: 'completed',
    datasourceId: 'share',
    enumerated: 2,
    classified: 2,
    skipped: 0,
    findingsByInfoType: { EMAIL_ADDRESS: 1 },
  });
  expect(first.scanId).toMatch(new RegExp(`^${scheduleId}-`));

  // The next run reads only what changed; the report still covers the whole share.
  await writeFile(path.join(folder, 'notes.txt'), 'Now with a contact: bob.jones@example.org, and more.\n');
  const second = await triggerAndWait([first.scanId as string]);
  expect(second).toMatchObject({
    phase: 'completed',
    enumerated: 2,
    classified: 1,
    skipped: 1,
    findingsByInfoType: { EMAIL_ADDRESS: 2 },
  });
  expect(second.scanId).not.toBe(first.scanId);

  expect(await runAssay([...global, 'schedule', 'pause', scheduleId])).toMatchObject({
    code: 0,
    stderr: `schedule ${scheduleId} paused\n`,
  });
  expect(await shown()).toMatchObject({
    paused: true,
    runs: 2,
    runningScanIds: [],
    recentScans: [{ scanId: first.scanId }, { scanId: second.scanId }],
  });
  expect(await listed((row) => row?.paused === true)).toMatchObject({ paused: true });
  expect(await runAssay([...global, 'schedule', 'resume', scheduleId])).toMatchObject({ code: 0 });
  expect(await listed((row) => row?.paused === false)).toMatchObject({ paused: false });

  expect(await runAssay([...global, 'schedule', 'delete', scheduleId])).toMatchObject({ code: 0 });
  expect(await listed((row) => row === undefined)).toBeUndefined();
  expect(await runAssay([...global, 'schedule', 'trigger', scheduleId])).toMatchObject({
    code: 4,
    stderr: expect.stringContaining(`schedule not found: ${scheduleId}`),
  });
});

test('usage errors: an interval under a minute, both or neither of --every and --cron, a bad id', async () => {
  for (const args of [
    [folder, '--every', '30s'],
    [folder, '--every', '1d', '--cron', '0 2 * * *'],
    [folder],
    [folder, '--every', '1h', '--id', 'bad id'],
  ]) {
    const result = await runAssay([...global, 'schedule', 'create', ...args]);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
  }
  const result = await runAssay([...global, 'schedule', 'create', folder, '--every', '30s']);
  expect(result.stderr).toContain('expected an interval of at least 1m, like 30m, 6h or 1d');
  const cron = await runAssay([
    ...global,
    'schedule',
    'create',
    folder,
    '--cron',
    'nonsense',
    '--id',
    'never',
  ]);
  expect(cron).toMatchObject({
    code: 2,
    stderr: expect.stringContaining('assay: invalid --cron expression:'),
  });
});
