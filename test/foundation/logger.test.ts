import { Writable } from 'node:stream';
import { runWithLogContext, SystemLogger } from '../../src/core/logger';

function capture(): { logger: SystemLogger; lines: () => Array<Record<string, unknown>> } {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  const logger = new SystemLogger({ level: 'debug', destination });
  return {
    logger,
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('SystemLogger', () => {
  test('ambient context reaches a line logged deep in an async call chain', async () => {
    const { logger, lines } = capture();
    async function level3(): Promise<void> {
      await tick();
      logger.info('deep inside', { path: '/data/a.txt' });
    }
    async function level2(): Promise<void> {
      await new Promise((resolve) => setTimeout(resolve, 5));
      await Promise.all([level3()]);
    }
    await runWithLogContext({ traceId: 'trace-1', scanId: 'scan-1', workflowId: 'wf-1' }, async () => {
      await tick();
      await runWithLogContext({ taskId: 'task-7', activityId: 'act-3' }, level2);
    });
    logger.info('outside');
    const [deep, outside] = lines();
    expect(deep).toMatchObject({
      msg: 'deep inside',
      path: '/data/a.txt',
      traceId: 'trace-1',
      scanId: 'scan-1',
      workflowId: 'wf-1',
      taskId: 'task-7',
      activityId: 'act-3',
      level: 30,
      service: 'assay',
    });
    expect(outside.msg).toBe('outside');
    expect(outside.traceId).toBeUndefined();
  });

  test('concurrent contexts do not leak into each other', async () => {
    const { logger, lines } = capture();
    await Promise.all(
      ['a', 'b', 'c'].map((id) =>
        runWithLogContext({ taskId: id }, async () => {
          await new Promise((resolve) => setTimeout(resolve, Math.random() * 10));
          logger.info('work', { expected: id });
        }),
      ),
    );
    for (const line of lines()) expect(line.taskId).toBe(line.expected);
  });

  test('credential-like fields are redacted', () => {
    const { logger, lines } = capture();
    logger.info('connecting', {
      host: 'db',
      password: 'hunter2',
      config: { secretAccessKey: 'AKIA-secret', user: 'scanner' },
      headers: { authorization: 'Bearer abc' },
      chunk: { classifier: { keyHex: 'c0ffee0123456789', maxFindings: 1000 } },
    });
    const [line] = lines();
    expect(JSON.stringify(line)).not.toMatch(/hunter2|AKIA-secret|Bearer abc|c0ffee0123456789/);
    expect(line).toMatchObject({
      host: 'db',
      password: '[REDACTED]',
      config: { user: 'scanner', secretAccessKey: '[REDACTED]' },
      chunk: { classifier: { keyHex: '[REDACTED]', maxFindings: 1000 } },
    });
  });

  test('child loggers keep their fields and the ambient context', () => {
    const { logger, lines } = capture();
    runWithLogContext({ scanId: 's' }, () => logger.child({ component: 'enumerate' }).warn('slow'));
    expect(lines()[0]).toMatchObject({ component: 'enumerate', scanId: 's', level: 40 });
  });
});
