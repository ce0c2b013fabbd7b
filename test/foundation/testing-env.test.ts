import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { temporalCliPath } from '../../src/services/tools';

// @temporalio/testing cannot download its server here: it runs the CLI that set-up installed.
describe('@temporalio/testing with the installed Temporal CLI', () => {
  let env: TestWorkflowEnvironment | undefined;

  afterAll(async () => {
    await env?.teardown();
  });

  test('createLocal starts the dev server from an existing path and runs a workflow', async () => {
    env = await TestWorkflowEnvironment.createLocal({
      server: { executable: { type: 'existing-path', path: temporalCliPath() }, ip: '127.0.0.1', ui: false },
    });
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue: 'testing-env',
      workflowsPath: require.resolve('../harness/smoke-workflow'),
      activities: { greet: async (name: string) => `hi ${name}` },
    });
    const result = await worker.runUntil(
      env.client.workflow.execute('smokeWorkflow', {
        taskQueue: 'testing-env',
        workflowId: 'testing-env-1',
        args: ['temporal'],
      }),
    );
    expect(result).toBe('hi temporal');
  });
});
