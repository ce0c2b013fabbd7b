import { chmod, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ErrorType, PlatformError } from '../../src/core/errors';
import { SystemLogger } from '../../src/core/logger';
import {
  DATABASE_URL_ENV,
  redactDatabaseUrl,
  resolveResultsStoreUrl,
  startEmbeddedStore,
  type EmbeddedStore,
} from '../../src/results/embedded';
import { openResultsStore } from '../../src/results/postgres-store';

let tmp: string;
let running: EmbeddedStore | undefined;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'assay-embedded-'));
  // PostgreSQL runs as its own account when we are root: it must traverse into the temp dir.
  await chmod(tmp, 0o711);
});

afterAll(async () => {
  await running?.stop();
  await rm(tmp, { recursive: true, force: true });
});

describe('embedded results store', () => {
  test('keeps its data, password and URL across a stop and a restart; other processes find it', async () => {
    const dir = path.join(tmp, 'pg');
    expect(await resolveResultsStoreUrl({ dir, env: {} })).toBeUndefined();

    running = await startEmbeddedStore({ dir });
    const firstUrl = running.url;
    const credentials = path.join(dir, 'credentials.json');
    expect((await stat(credentials)).mode & 0o777).toBe(0o600);
    expect((await stat(path.join(dir, 'store.json'))).mode & 0o777).toBe(0o600);
    // store.json names the port only; the password stays in credentials.json.
    const password = JSON.parse(await readFile(credentials, 'utf8')).password as string;
    expect(password).toMatch(/^[0-9a-f]{48}$/);
    expect(await readFile(path.join(dir, 'store.json'), 'utf8')).not.toContain(password);
    expect(redactDatabaseUrl(firstUrl)).not.toContain(password);
    expect(redactDatabaseUrl(firstUrl)).toBe(`postgres://postgres:***@127.0.0.1:${running.port}/assay`);

    // A second process (here: the same one, through the files) resolves the running store.
    expect(await resolveResultsStoreUrl({ dir, env: {} })).toBe(firstUrl);
    expect(
      await resolveResultsStoreUrl({ dir, env: { [DATABASE_URL_ENV]: 'postgres://elsewhere/db' } }),
    ).toBe('postgres://elsewhere/db');
    await expect(startEmbeddedStore({ dir })).rejects.toMatchObject({
      type: ErrorType.CONFIGURATION_INVALID,
    });
    // A second `assay dev` may adopt the running server instead (the first one was killed, say).
    const adopted = await startEmbeddedStore({ dir, ifRunning: 'reuse' });
    expect(adopted.url).toBe(firstUrl);

    const store = openResultsStore(firstUrl);
    await store.migrate();
    await store.upsertScan({
      scanId: 'persisted',
      datasourceId: 'docs',
      datasourceType: 'filesystem',
      rulesetVersion: 'r1',
      phase: 'completed',
      startedAt: '2026-01-01T00:00:00.000Z',
    });
    await store.close();
    // Stopping through the adopted handle stops the server; the original handle's stop is then harmless.
    await adopted.stop();
    expect(await resolveResultsStoreUrl({ dir, env: {} })).toBeUndefined();
    await running.stop();
    running = undefined;

    running = await startEmbeddedStore({ dir });
    expect(JSON.parse(await readFile(credentials, 'utf8')).password).toBe(password);
    const reopened = openResultsStore(running.url, { logger: new SystemLogger({ level: 'fatal' }) });
    try {
      await reopened.migrate();
      expect((await reopened.listScans()).map((s) => s.scanId)).toEqual(['persisted']);

      // The server goes away under an open store: writes fail with a retryable network error, and the
      // same store works again once the server is back on its port.
      const port = running.port;
      await running.stop();
      running = undefined;
      const failure = await reopened.setScanPhase('persisted', 'failed').catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(PlatformError);
      expect((failure as PlatformError).type).toBe(ErrorType.NETWORK_CONNECTION_FAILED);
      expect((failure as PlatformError).retryable).toBe(true);
      expect((failure as PlatformError).message).not.toContain(password);
      running = await startEmbeddedStore({ dir, port });
      await reopened.setScanPhase('persisted', 'failed');
      expect((await reopened.getScan('persisted'))?.phase).toBe('failed');
    } finally {
      await reopened.close();
    }
    await running.stop();
    running = undefined;
  });
});
