import { readFileSync } from 'node:fs';

/** Connection facts for the throwaway servers that global set-up started (see global-setup.ts). */
export interface TestServices {
  tmpRoot: string;
  temporal: { address: string; namespace: string; uiUrl?: string; dbFile: string };
  postgres: { host: string; port: number; user: string; password: string };
  mariadb: { host: string; port: number; user: string; password: string };
  s3: {
    endpoint: string;
    region: string;
    admin: { accessKeyId: string; secretAccessKey: string };
    /** Can read and list bucket `restricted-read` only. */
    limited: { accessKeyId: string; secretAccessKey: string };
  };
}

export const SERVICES_ENV = 'ASSAY_TEST_SERVICES';

export function testServices(): TestServices {
  const file = process.env[SERVICES_ENV];
  if (!file) throw new Error(`${SERVICES_ENV} is not set: run the suite with \`npm test\``);
  return JSON.parse(readFileSync(file, 'utf8')) as TestServices;
}
