import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { testServices } from '../harness/services-info';

export interface TestDatabase {
  name: string;
  url: string;
  /** A connected superuser client on the test database, for exact row counts. */
  admin(): Promise<Client>;
  drop(): Promise<void>;
}

function urlFor(database: string): string {
  const { host, port, user, password } = testServices().postgres;
  return `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@${host}:${port}/${database}`;
}

/** A fresh database on the harness PostgreSQL, unique per test file; `drop()` removes it. */
export async function createTestDatabase(prefix: string): Promise<TestDatabase> {
  const name = `${prefix}_${randomBytes(5).toString('hex')}`;
  const root = new Client({ connectionString: urlFor('postgres') });
  await root.connect();
  try {
    await root.query(`CREATE DATABASE ${name}`);
  } finally {
    await root.end();
  }
  const clients: Client[] = [];
  return {
    name,
    url: urlFor(name),
    admin: async () => {
      const client = new Client({ connectionString: urlFor(name) });
      await client.connect();
      clients.push(client);
      return client;
    },
    drop: async () => {
      await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
      const admin = new Client({ connectionString: urlFor('postgres') });
      await admin.connect();
      try {
        await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await admin.end();
      }
    },
  };
}
