/**
 * `assay schedule …`: recurring scans as Temporal Schedules. Each run is an ordinary scan workflow (id
 * `<scheduleId>-<time>`); a run never overlaps the previous one of the same schedule (a scan still going
 * when the next is due makes that one skipped), and after an outage at most one missed run is made up.
 * With `--incremental` each run reads only what changed since the last completed scan.
 */
import { InvalidArgumentError, type Command } from 'commander';
import {
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  type ScheduleSummary,
} from '@temporalio/client';
import { SCAN_WORKFLOW_TYPE } from '../../../workflows/definitions';
import type { ScanInput } from '../../scan/types';
import { EXIT, notFoundError, usageError } from '../exit-codes';
import { renderTable } from '../../report/text';
import { globalOptions, resolveSettings } from '../settings';
import type { TemporalSession } from '../temporal-client';
import {
  scanSpecFrom,
  withScanSpecOptions,
  withTemporal,
  type CommandContext,
  type ScanSpecOptions,
} from './scan';

/** Runs missed while Temporal was down are made up only within this window (at most one, as runs never overlap). */
export const SCHEDULE_CATCHUP_WINDOW = '1 hour';

const SCHEDULE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

const UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86_400 } as const;

/** `30m`, `6h`, `1d`, `90s` in milliseconds; at least a minute (a scan is not a job for every second). */
export function parseEvery(value: string): number {
  const match = /^(\d+)\s*([smhd])$/.exec(value.trim());
  const seconds = match ? Number(match[1]) * UNIT_SECONDS[match[2] as keyof typeof UNIT_SECONDS] : 0;
  if (!match || seconds < 60)
    throw new InvalidArgumentError('expected an interval of at least 1m, like 30m, 6h or 1d');
  return seconds * 1000;
}

/** An interval in its largest whole unit: 86400000 → `1d`. */
export function everyText(ms: number): string {
  const seconds = Math.round(ms / 1000);
  for (const [unit, size] of Object.entries(UNIT_SECONDS).reverse())
    if (seconds % size === 0) return `${seconds / size}${unit}`;
  return `${seconds}s`;
}

interface CreateOptions extends ScanSpecOptions {
  every?: number;
  cron?: string;
  id?: string;
  paused?: boolean;
  json?: boolean;
}

async function existingSchedule(session: TemporalSession, scheduleId: string) {
  const handle = session.client.schedule.getHandle(scheduleId);
  try {
    return { handle, description: await handle.describe() };
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) throw notFoundError(`schedule not found: ${scheduleId}`, err);
    throw err;
  }
}

/** Creates a schedule, turning Temporal's refusals (a taken id, a cron expression it cannot read) into usage errors. */
async function createSchedule(create: () => Promise<unknown>, scheduleId: string): Promise<void> {
  try {
    await create();
  } catch (err) {
    if (err instanceof ScheduleAlreadyRunning)
      throw usageError(`schedule ${scheduleId} already exists: delete it first, or give another --id`);
    const message = err instanceof Error ? err.message : String(err);
    if (/cron/i.test(message)) throw usageError(`invalid --cron expression: ${message}`);
    throw err;
  }
}

async function createAction(
  source: string | undefined,
  opts: CreateOptions,
  cmd: Command,
  ctx: CommandContext,
) {
  const settings = await resolveSettings(globalOptions(cmd));
  if (Boolean(opts.every) === Boolean(opts.cron))
    throw usageError('give either --every <interval> or --cron <expression>');
  const { datasource, options } = await scanSpecFrom(source, opts);
  const scheduleId = opts.id ?? `scan-${datasource.id}`;
  if (!SCHEDULE_ID.test(scheduleId)) {
    throw usageError(`invalid schedule id "${scheduleId}": letters, digits, '.', '_' and '-' only`);
  }
  // No scanId: each run's scan id is its workflow id, the schedule id plus the run's time (to the second).
  const input: ScanInput = { datasource, options };
  const when = opts.every ? `every ${everyText(opts.every)}` : `cron ${opts.cron}`;
  await withTemporal(settings, async (session) => {
    await createSchedule(
      () =>
        session.client.schedule.create({
          scheduleId,
          spec: opts.every
            ? { intervals: [{ every: opts.every }] }
            : { cronExpressions: [opts.cron as string] },
          action: {
            type: 'startWorkflow',
            workflowType: SCAN_WORKFLOW_TYPE,
            workflowId: scheduleId,
            taskQueue: settings.taskQueue,
            args: [input],
          },
          policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: SCHEDULE_CATCHUP_WINDOW },
          memo: { datasourceId: datasource.id, datasourceType: datasource.type, when },
          state: opts.paused ? { paused: true, note: 'created paused' } : {},
        }),
      scheduleId,
    );
    const description = await session.client.schedule.getHandle(scheduleId).describe();
    const next = description.info.nextActionTimes[0]?.toISOString();
    if (opts.json) {
      ctx.io.stdout.write(
        `${JSON.stringify({ scheduleId, datasourceId: datasource.id, paused: Boolean(opts.paused), nextRunAt: next }, null, 2)}\n`,
      );
    } else {
      ctx.io.stdout.write(`${scheduleId}\n`);
      ctx.io.stderr.write(
        `scheduled scans of ${datasource.type} source "${datasource.id}" ${when}` +
          `${opts.paused ? ' (paused)' : next ? `; next at ${next}` : ''}; run one now with: assay schedule trigger ${scheduleId}\n`,
      );
    }
  });
  ctx.setExitCode(EXIT.OK);
}

/** A row of `schedule list --json`. */
export interface ScheduleRow {
  scheduleId: string;
  datasourceId?: string;
  spec: string;
  paused: boolean;
  nextRunAt?: string;
  lastScanId?: string;
}

/** When a schedule made elsewhere (no `when` memo) runs; Temporal describes cron expressions as calendars. */
function specText(summary: ScheduleSummary): string {
  const spec = summary.spec;
  const every = spec?.intervals?.map((i) => `every ${everyText(Number(i.every))}`) ?? [];
  const calendars = spec?.calendars?.length ? [`${spec.calendars.length} calendar(s)`] : [];
  return [...every, ...calendars].join(', ') || '-';
}

async function listAction(opts: { json?: boolean }, cmd: Command, ctx: CommandContext) {
  const settings = await resolveSettings(globalOptions(cmd));
  const rows: ScheduleRow[] = [];
  await withTemporal(settings, async (session) => {
    for await (const summary of session.client.schedule.list()) {
      if (summary.action?.workflowType !== SCAN_WORKFLOW_TYPE) continue;
      const last = summary.info.recentActions[summary.info.recentActions.length - 1];
      rows.push({
        scheduleId: summary.scheduleId,
        datasourceId: summary.memo?.datasourceId as string | undefined,
        spec: (summary.memo?.when as string | undefined) ?? specText(summary),
        paused: summary.state.paused,
        nextRunAt: summary.info.nextActionTimes[0]?.toISOString(),
        lastScanId: last?.action.workflow.workflowId,
      });
    }
  });
  rows.sort((a, b) => (a.scheduleId < b.scheduleId ? -1 : 1));
  if (opts.json) ctx.io.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
  else if (rows.length === 0) ctx.io.stdout.write('no scan schedules\n');
  else
    ctx.io.stdout.write(
      `${renderTable(
        ['SCHEDULE', 'DATASOURCE', 'WHEN', 'STATE', 'NEXT RUN', 'LAST SCAN'],
        rows.map((r) => [
          r.scheduleId,
          r.datasourceId ?? '-',
          r.spec,
          r.paused ? 'paused' : 'active',
          r.nextRunAt ?? '-',
          r.lastScanId ?? '-',
        ]),
      )}\n`,
    );
  ctx.setExitCode(EXIT.OK);
}

/** One schedule, from Temporal's own record of it (visibility, which `list` reads, may lag a little). */
async function showAction(scheduleId: string, opts: { json?: boolean }, cmd: Command, ctx: CommandContext) {
  const settings = await resolveSettings(globalOptions(cmd));
  const description = await withTemporal(settings, async (session) => {
    return (await existingSchedule(session, scheduleId)).description;
  });
  const { info, state, memo } = description;
  const json = {
    scheduleId,
    datasourceId: memo?.datasourceId as string | undefined,
    datasourceType: memo?.datasourceType as string | undefined,
    spec: (memo?.when as string | undefined) ?? '-',
    paused: state.paused,
    note: state.note,
    nextRunAt: info.nextActionTimes.map((t) => t.toISOString()),
    runningScanIds: info.runningActions.map((a) => a.workflow.workflowId),
    recentScans: info.recentActions.map((a) => ({
      scanId: a.action.workflow.workflowId,
      scheduledAt: a.scheduledAt.toISOString(),
      startedAt: a.takenAt.toISOString(),
    })),
    runs: info.numActionsTaken,
    skippedWhileRunning: info.numActionsSkippedOverlap,
    missedWhileDown: info.numActionsMissedCatchupWindow,
  };
  if (opts.json) ctx.io.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
  else {
    const lines = [
      `schedule ${scheduleId}: ${json.paused ? 'paused' : 'active'}, ${json.spec}, source ${json.datasourceId ?? '-'} (${json.datasourceType ?? '-'})`,
      `next run: ${json.nextRunAt[0] ?? '-'}`,
      `runs: ${json.runs} (skipped while the previous scan ran: ${json.skippedWhileRunning}; missed while down: ${json.missedWhileDown})`,
      ...json.runningScanIds.map((id) => `running: ${id}`),
      ...json.recentScans.map((r) => `scan ${r.scanId} started ${r.startedAt}`),
    ];
    ctx.io.stdout.write(`${lines.join('\n')}\n`);
  }
  ctx.setExitCode(EXIT.OK);
}

type Verb = 'trigger' | 'pause' | 'resume' | 'delete';

async function verbAction(verb: Verb, scheduleId: string, cmd: Command, ctx: CommandContext) {
  const settings = await resolveSettings(globalOptions(cmd));
  await withTemporal(settings, async (session) => {
    const { handle, description } = await existingSchedule(session, scheduleId);
    if (verb === 'trigger') {
      // A run's workflow id (its scan id) is the schedule id plus its start time to the second: a run started in
      // the same second as the previous one would take that scan's id and find it already done. Wait out the
      // second (with a margin for the server's clock).
      const last = Math.max(0, ...description.info.recentActions.map((a) => a.scheduledAt.getTime()));
      const wait = Math.floor(last / 1000) * 1000 + 2000 - Date.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      await handle.trigger(ScheduleOverlapPolicy.SKIP);
    } else if (verb === 'pause') await handle.pause('paused with assay schedule pause');
    else if (verb === 'resume') await handle.unpause('resumed with assay schedule resume');
    else await handle.delete();
  });
  const done = { trigger: 'triggered', pause: 'paused', resume: 'resumed', delete: 'deleted' }[verb];
  ctx.io.stderr.write(
    `schedule ${scheduleId} ${done}${verb === 'trigger' ? ' (skipped if its previous scan is still running)' : ''}\n`,
  );
  ctx.setExitCode(EXIT.OK);
}

export function registerScheduleCommands(program: Command, ctx: CommandContext): void {
  const schedule = program.command('schedule').description('recurring scans (Temporal Schedules)');
  withScanSpecOptions(schedule.command('create').description('scan a source on a recurring schedule'))
    .option('--every <interval>', 'run every interval: 30m, 6h, 1d (at least 1m)', parseEvery)
    .option('--cron <expression>', 'run on a cron expression (UTC), e.g. "0 2 * * *"')
    .option(
      '--id <scheduleId>',
      "schedule id, also the prefix of its scans' ids (default: scan-<datasource>)",
    )
    .option('--paused', 'create it paused')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      `
A run starts only when the previous scan of the schedule has ended (otherwise that run is skipped). With
--incremental each run reads only objects changed since the last completed scan of the source.

Examples:
  assay schedule create /srv/share --every 1d --incremental
  assay schedule create postgres://assay@db.internal:5432/crm --cron "0 2 * * *" --id nightly-crm`,
    )
    .action((source: string | undefined, opts: CreateOptions, cmd: Command) =>
      createAction(source, opts, cmd, ctx),
    );
  schedule
    .command('list')
    .description('scan schedules: when they run, next run, last scan')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }, cmd: Command) => listAction(opts, cmd, ctx));
  schedule
    .command('show')
    .description('one schedule: state, next runs, running and recent scans')
    .argument('<scheduleId>')
    .option('--json', 'print JSON')
    .action((scheduleId: string, opts: { json?: boolean }, cmd: Command) =>
      showAction(scheduleId, opts, cmd, ctx),
    );
  const verbs: Array<[Verb, string]> = [
    ['trigger', 'start a scan of the schedule now'],
    ['pause', 'stop starting scans (a running one goes on)'],
    ['resume', 'start scans again'],
    ['delete', 'delete the schedule (its scans and results stay)'],
  ];
  for (const [verb, description] of verbs)
    schedule
      .command(verb)
      .description(description)
      .argument('<scheduleId>')
      .action((scheduleId: string, _opts: unknown, cmd: Command) => verbAction(verb, scheduleId, cmd, ctx));
}
