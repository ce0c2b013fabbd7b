import { rm } from 'node:fs/promises';

/** Stops every server global set-up started and removes their data. */
export default async function globalTeardown(): Promise<void> {
  const started = globalThis.__ASSAY_TEST_SERVICES__;
  if (!started) return;
  await Promise.allSettled(started.stops.map((stop) => stop()));
  await rm(started.tmpRoot, { recursive: true, force: true });
  globalThis.__ASSAY_TEST_SERVICES__ = undefined;
}
