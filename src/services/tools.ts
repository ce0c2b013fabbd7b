import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';

/** The project root (holds package.json and `.tools/`). */
export const PROJECT_ROOT = findProjectRoot(__dirname);

function findProjectRoot(start: string): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(dir, 'src'))) return dir;
    if (path.dirname(dir) === dir) return process.cwd();
  }
}

/** The Temporal CLI installed by set-up; `TEMPORAL_CLI_PATH` overrides it. */
export function temporalCliPath(): string {
  return process.env.TEMPORAL_CLI_PATH ?? path.join(PROJECT_ROOT, '.tools', 'venv', 'bin', 'temporal');
}

/** SeaweedFS (S3-compatible server) installed by set-up; `SEAWEEDFS_PATH` overrides it. */
export function seaweedfsPath(): string {
  return process.env.SEAWEEDFS_PATH ?? path.join(PROJECT_ROOT, '.tools', 'venv', 'bin', 'weed');
}

/** Directory of PostgreSQL server binaries (initdb, pg_ctl, postgres): `PG_BIN_DIR`, else Debian's newest. */
export function postgresBinDir(): string {
  if (process.env.PG_BIN_DIR) return process.env.PG_BIN_DIR;
  const base = '/usr/lib/postgresql';
  const versions = existsSync(base)
    ? readdirSync(base)
        .filter((v) => existsSync(path.join(base, v, 'bin', 'postgres')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length === 0) throw new Error('PostgreSQL server binaries not found: run `npm run setup`');
  return path.join(base, versions[0], 'bin');
}

/** MariaDB server binaries: `MARIADB_BIN_DIR`, else Debian's locations. */
export function mariadbBinaries(): { mariadbd: string; installDb: string } {
  const dir = process.env.MARIADB_BIN_DIR;
  return {
    mariadbd: dir ? path.join(dir, 'mariadbd') : '/usr/sbin/mariadbd',
    installDb: dir ? path.join(dir, 'mariadb-install-db') : '/usr/bin/mariadb-install-db',
  };
}
