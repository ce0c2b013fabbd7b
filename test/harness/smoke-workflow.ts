import { proxyActivities } from '@temporalio/workflow';

/** Test-only workflow: proves the dev server, a real worker and an activity round-trip. */
export async function smokeWorkflow(name: string): Promise<string> {
  const { greet } = proxyActivities<{ greet(name: string): Promise<string> }>({ startToCloseTimeout: '10s' });
  return greet(name);
}
