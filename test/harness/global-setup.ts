import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startLocalMariadb, type LocalMariadb } from '../../src/services/mariadb';
import { startLocalPostgres, type LocalPostgres } from '../../src/services/postgres';
import { startLocalS3, type LocalS3 } from '../../src/services/seaweedfs';
import { startTemporalDevServer, type TemporalDevServer } from '../../src/services/temporal';
import { SERVICES_ENV, type TestServices } from './services-info';

interface Started {
  tmpRoot: string;
  stops: Array<() => Promise<void>>;
}

declare global {
  var __ASSAY_TEST_SERVICES__: Started | undefined;
}

const secret = () => randomBytes(12).toString('hex');

/** Starts private Temporal, PostgreSQL, MariaDB and SeaweedFS servers on free ports in a temp dir. */
export default async function globalSetup(): Promise<void> {
  const tmpRoot = await mkdtemp(path.join(os.tmpdir(), 'assay-test-'));
  // Traversable, so PostgreSQL (run as its own account when we are root) reaches its data dir.
  await chmod(tmpRoot, 0o711);
  const started: Started = { tmpRoot, stops: [] };
  globalThis.__ASSAY_TEST_SERVICES__ = started;

  // A per-run fingerprint key, so no test writes .assay/fingerprint.key into the working tree.
  process.env.ASSAY_FINGERPRINT_KEY ??= randomBytes(32).toString('hex');
  const admin = { accessKeyId: `admin${secret()}`, secretAccessKey: secret() };
  const limited = { accessKeyId: `limited${secret()}`, secretAccessKey: secret() };
  const keep = <T extends { stop(): Promise<void> }>(service: T): T => {
    started.stops.push(() => service.stop());
    return service;
  };
  const results = await Promise.allSettled([
    startTemporalDevServer({ dbFile: path.join(tmpRoot, 'temporal', 'temporal.db'), uiPort: false }).then(
      keep,
    ),
    startLocalPostgres({ dataDir: path.join(tmpRoot, 'postgres', 'data'), superuserPassword: secret() }).then(
      keep,
    ),
    startLocalMariadb({ dataDir: path.join(tmpRoot, 'mariadb'), rootPassword: secret() }).then(keep),
    startLocalS3({
      dir: path.join(tmpRoot, 's3'),
      identities: [
        {
          name: 'admin',
          accessKey: admin.accessKeyId,
          secretKey: admin.secretAccessKey,
          actions: ['Admin', 'Read', 'List', 'Tagging', 'Write'],
        },
        {
          name: 'limited',
          accessKey: limited.accessKeyId,
          secretKey: limited.secretAccessKey,
          actions: ['Read:restricted-read', 'List:restricted-read'],
        },
      ],
    }).then(keep),
  ]);
  const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed.length > 0) {
    const { default: teardown } = await import('./global-teardown');
    await teardown();
    throw new Error(
      `test services failed to start:\n${failed.map((f) => String(f.reason?.message ?? f.reason)).join('\n')}`,
    );
  }
  const [temporal, postgres, mariadb, s3] = results.map(
    (r) => (r as PromiseFulfilledResult<unknown>).value,
  ) as [TemporalDevServer, LocalPostgres, LocalMariadb, LocalS3];
  const info: TestServices = {
    tmpRoot,
    temporal: {
      address: temporal.address,
      namespace: temporal.namespace,
      uiUrl: temporal.uiUrl,
      dbFile: path.join(tmpRoot, 'temporal', 'temporal.db'),
    },
    postgres: { host: postgres.host, port: postgres.port, user: postgres.user, password: postgres.password },
    mariadb: { host: mariadb.host, port: mariadb.port, user: mariadb.user, password: mariadb.password },
    s3: { endpoint: s3.endpoint, region: s3.region, admin, limited },
  };
  const infoFile = path.join(tmpRoot, 'services.json');
  await writeFile(infoFile, JSON.stringify(info, null, 2), { mode: 0o600 });
  process.env[SERVICES_ENV] = infoFile;
}
