/**
 * Turns what the user typed (`./docs`, `s3://bucket/prefix`, `postgres://user@host/db`, a datasource
 * file) into a DatasourceSpec. Passwords never travel in the spec: the connector reads them on the
 * worker from the environment variable the spec names (PGPASSWORD / MYSQL_PWD).
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import type { DatasourceSpec } from '../scan/types';
import { usageError } from './exit-codes';
import { parseStructured } from './settings';

export interface SourceOptions {
  /** Datasource id; default derived from the source (folder name, bucket, database). */
  name?: string;
  /** S3 endpoint (MinIO, SeaweedFS…); default `AWS_ENDPOINT_URL`, else AWS. */
  s3Endpoint?: string;
  /** S3 region; default `AWS_REGION`, else us-east-1. */
  s3Region?: string;
}

const SQL_PASSWORD_ENV: Record<string, string> = { postgres: 'PGPASSWORD', mysql: 'MYSQL_PWD' };
const SQL_DEFAULT_PORT: Record<string, number> = { postgres: 5432, mysql: 3306 };

/** Lower-case letters, digits and dashes: safe in workflow ids and object ids. */
export function slug(text: string): string {
  const cleaned = text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return cleaned.slice(0, 48) || 'source';
}

export async function datasourceFromUri(
  uri: string,
  options: SourceOptions = {},
  env = process.env,
): Promise<DatasourceSpec> {
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(uri)?.[1]?.toLowerCase();
  if (!scheme || scheme === 'file') return filesystemSource(scheme ? fileUrlToPath(uri) : uri, options);
  if (scheme === 's3') return s3Source(uri, options, env);
  if (scheme === 'postgres' || scheme === 'postgresql') return sqlSource('postgres', uri, options);
  if (scheme === 'mysql' || scheme === 'mariadb') return sqlSource('mysql', uri, options);
  throw usageError(
    `unsupported source "${uri}": use a folder path, s3://bucket/prefix, postgres://user@host:port/db or mysql://user@host:port/db`,
  );
}

function fileUrlToPath(uri: string): string {
  try {
    return decodeURIComponent(new URL(uri).pathname);
  } catch (err) {
    throw usageError(`invalid file URL "${uri}"`, err);
  }
}

async function filesystemSource(input: string, options: SourceOptions): Promise<DatasourceSpec> {
  const root = path.resolve(input);
  const info = await stat(root).catch(() => undefined);
  if (!info) throw usageError(`no such file or folder: ${root}`);
  if (!info.isDirectory()) throw usageError(`not a folder: ${root} (scan the folder that holds it)`);
  return { id: options.name ?? slug(path.basename(root)), type: 'filesystem', config: { roots: [root] } };
}

function s3Source(uri: string, options: SourceOptions, env: NodeJS.ProcessEnv): DatasourceSpec {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/i.exec(uri);
  if (!match || !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(match[1])) {
    throw usageError(`invalid S3 URI "${uri}": expected s3://bucket[/prefix]`);
  }
  const [, bucket, prefix] = match;
  const endpoint = options.s3Endpoint ?? env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL;
  const config: Record<string, unknown> = { bucket };
  if (prefix) config.prefix = prefix;
  if (endpoint) {
    try {
      new URL(endpoint);
    } catch (err) {
      throw usageError(`invalid S3 endpoint "${endpoint}": expected a URL like http://localhost:9000`, err);
    }
    config.endpoint = endpoint;
    // MinIO / SeaweedFS serve buckets by path, not by virtual host.
    config.forcePathStyle = true;
  }
  const region = options.s3Region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  if (region) config.region = region;
  return { id: options.name ?? slug(bucket), type: 's3', config };
}

function sqlSource(type: 'postgres' | 'mysql', uri: string, options: SourceOptions): DatasourceSpec {
  let url: URL;
  try {
    url = new URL(uri);
  } catch (err) {
    throw usageError(
      `invalid ${type} URI "${redactPassword(uri)}": expected ${type}://user@host:port/database`,
      err,
    );
  }
  const passwordEnv = SQL_PASSWORD_ENV[type];
  if (url.password) {
    throw usageError(
      `refusing a password inside the ${type} URI (it would be stored in the scan's history): remove it and set ${passwordEnv} in the worker's environment instead`,
    );
  }
  const user = decodeURIComponent(url.username);
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (!url.hostname) throw usageError(`invalid ${type} URI "${uri}": missing host`);
  if (!user)
    throw usageError(`invalid ${type} URI "${uri}": missing user (${type}://user@host:port/database)`);
  if (!database || database.includes('/')) {
    throw usageError(
      `invalid ${type} URI "${uri}": missing database name (${type}://user@host:port/database)`,
    );
  }
  const port = url.port ? Number(url.port) : SQL_DEFAULT_PORT[type];
  const config: Record<string, unknown> = {
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port,
    database,
    user,
    passwordEnv,
  };
  const include = url.searchParams.getAll('include');
  if (include.length > 0) config.include = include;
  const exclude = url.searchParams.getAll('exclude');
  if (exclude.length > 0) config.exclude = exclude;
  const schemas = url.searchParams.getAll('schema');
  if (type === 'postgres' && schemas.length > 0) config.schemas = schemas;
  return { id: options.name ?? slug(database), type, config };
}

function redactPassword(uri: string): string {
  return uri.replace(/(\/\/[^:/@]+:)[^@]*@/, '$1***@');
}

const datasourceFileSchema = z
  .object({
    id: z.string().min(1, { error: 'id must not be empty' }),
    type: z.string().min(1, { error: 'type must not be empty' }),
    config: z.record(z.string(), z.unknown()),
  })
  .strict();

/** Reads a DatasourceSpec from a JSON or YAML file (`assay scan start --config ds.yaml`). */
export async function datasourceFromFile(file: string): Promise<DatasourceSpec> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw usageError(
      `cannot read datasource file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      err,
    );
  }
  const parsed = datasourceFileSchema.safeParse(parseStructured(text, file));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw usageError(`${file}: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  const spec = parsed.data;
  for (const key of ['password', 'secretAccessKey', 'secret']) {
    if (key in spec.config) {
      throw usageError(
        `${file}: config.${key}: secrets are not allowed in datasource files; name an environment variable (e.g. passwordEnv) instead`,
      );
    }
  }
  return spec;
}
