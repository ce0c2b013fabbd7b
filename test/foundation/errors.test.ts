import { ApplicationFailure } from '@temporalio/common';
import vm from 'node:vm';
import {
  ConfigurationError,
  ContentError,
  ERROR_TYPE_RULES,
  ErrorType,
  NetworkError,
  NON_RETRYABLE_ERROR_TYPES,
  ObjectNotFoundError,
  PlatformError,
  RightsError,
  platformError,
} from '../../src/core/errors';
import {
  ErrorHandler,
  MYSQL_ERROR_TABLE,
  NODE_ERRNO_TABLE,
  POSTGRES_SQLSTATE_TABLE,
  S3_ERROR_TABLE,
} from '../../src/core/error-handler';
import { toApplicationFailure } from '../../src/core/temporal-errors';

const handler = new ErrorHandler();

const errnoError = (code: string) => Object.assign(new Error(`connect ${code} 10.0.0.1:5432`), { code });
const s3Error = (name: string, status = 400) =>
  Object.assign(new Error(`${name} from S3`), {
    name,
    $fault: 'client',
    $metadata: { httpStatusCode: status },
  });
const pgError = (code: string) => Object.assign(new Error(`pg error ${code}`), { code, severity: 'FATAL' });
const mysqlError = (code: string) => Object.assign(new Error(`mysql error ${code}`), { code, errno: 1045 });

describe('ErrorType rules', () => {
  test.each(Object.values(ErrorType))('%s has a rule and a stable string code', (type) => {
    expect(ERROR_TYPE_RULES[type]).toBeDefined();
    expect(type).toMatch(/^[A-Z_]+$/);
    expect(platformError(type, 'x').type).toBe(type);
    expect(platformError(type, 'x').retryable).toBe(ERROR_TYPE_RULES[type].retryable);
  });

  test('the non-retryable list is derived from the table', () => {
    expect([...NON_RETRYABLE_ERROR_TYPES].sort()).toEqual(
      [
        'CANCELLED',
        'CONFIGURATION_INVALID',
        'CONTENT_CORRUPT',
        'CONTENT_TOO_LARGE',
        'CONTENT_UNSUPPORTED',
        'OBJECT_NOT_FOUND',
        'RIGHTS_ACCESS_DENIED',
        'RIGHTS_AUTHENTICATION_FAILED',
      ].sort(),
    );
  });

  test('platformError builds the family subclass', () => {
    expect(platformError(ErrorType.THROTTLED, 'x')).toBeInstanceOf(NetworkError);
    expect(platformError(ErrorType.RIGHTS_ACCESS_DENIED, 'x')).toBeInstanceOf(RightsError);
    expect(platformError(ErrorType.CONFIGURATION_INVALID, 'x')).toBeInstanceOf(ConfigurationError);
    expect(platformError(ErrorType.OBJECT_NOT_FOUND, 'x')).toBeInstanceOf(ObjectNotFoundError);
    expect(platformError(ErrorType.CONTENT_CORRUPT, 'x')).toBeInstanceOf(ContentError);
    expect(platformError(ErrorType.CONTENT_CORRUPT, 'x')).not.toBeInstanceOf(NetworkError);
  });

  test('instanceof holds across module realms', () => {
    // A copy of the module loaded in a fresh realm: what jest's per-file registries and worker threads produce.
    const source = require('node:fs').readFileSync(
      require.resolve('../../src/core/errors.ts'),
      'utf8',
    ) as string;
    const ts = require('typescript') as typeof import('typescript');
    const js = ts.transpileModule(source, {
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 },
    }).outputText;
    const foreignExports: Record<string, unknown> = {};
    vm.runInNewContext(js, { exports: foreignExports, require, Symbol, Object, Error });
    const ForeignRightsError = foreignExports.RightsError as typeof RightsError;
    const foreign = new ForeignRightsError('denied', ErrorType.RIGHTS_ACCESS_DENIED, { host: 'h' });
    expect(ForeignRightsError).not.toBe(RightsError);
    expect(foreign).toBeInstanceOf(PlatformError);
    expect(foreign).toBeInstanceOf(RightsError);
    expect(foreign).not.toBeInstanceOf(NetworkError);
    expect(handler.wrap(foreign)).toBe(foreign);
  });
});

describe('ErrorHandler table', () => {
  const cases: Array<[string, unknown, ErrorType]> = [
    ...Object.entries(NODE_ERRNO_TABLE).map(([code, m]): [string, unknown, ErrorType] => [
      `errno ${code}`,
      errnoError(code),
      m.type,
    ]),
    ...Object.entries(S3_ERROR_TABLE).map(([name, m]): [string, unknown, ErrorType] => [
      `S3 ${name}`,
      s3Error(name),
      m.type,
    ]),
    ...Object.entries(POSTGRES_SQLSTATE_TABLE).map(([code, m]): [string, unknown, ErrorType] => [
      `SQLSTATE ${code}`,
      pgError(code.length === 2 ? `${code}006` : code),
      m.type,
    ]),
    ...Object.entries(MYSQL_ERROR_TABLE).map(([code, m]): [string, unknown, ErrorType] => [
      `mysql ${code}`,
      mysqlError(code),
      m.type,
    ]),
  ];

  test.each(cases)('%s', (_label, raw, expected) => {
    const wrapped = handler.wrap(raw, { host: 'db.internal' }, 'connect');
    expect(wrapped.type).toBe(expected);
    expect(wrapped.context).toEqual({ host: 'db.internal' });
    expect(wrapped.cause).toBe(raw);
    expect(wrapped.message).toMatch(/^connect failed: /);
  });

  test('the codes the issue names are all in the tables', () => {
    for (const code of ['ECONNREFUSED', 'ETIMEDOUT', 'ENOTFOUND', 'EACCES', 'ENOENT'])
      expect(NODE_ERRNO_TABLE[code]).toBeDefined();
    for (const name of [
      'AccessDenied',
      'InvalidAccessKeyId',
      'SignatureDoesNotMatch',
      'NoSuchBucket',
      'NoSuchKey',
      'SlowDown',
    ])
      expect(S3_ERROR_TABLE[name]).toBeDefined();
    for (const code of ['28P01', '28000', '3D000', '42501', '57014', '08'])
      expect(POSTGRES_SQLSTATE_TABLE[code]).toBeDefined();
    for (const code of [
      'ER_ACCESS_DENIED_ERROR',
      'ER_BAD_DB_ERROR',
      'ER_TABLEACCESS_DENIED_ERROR',
      'PROTOCOL_CONNECTION_LOST',
    ])
      expect(MYSQL_ERROR_TABLE[code]).toBeDefined();
  });

  test('issue-named S3 mappings', () => {
    expect(handler.wrap(s3Error('AccessDenied', 403)).type).toBe(ErrorType.RIGHTS_ACCESS_DENIED);
    expect(handler.wrap(s3Error('InvalidAccessKeyId', 403)).type).toBe(
      ErrorType.RIGHTS_AUTHENTICATION_FAILED,
    );
    expect(handler.wrap(s3Error('NoSuchBucket', 404)).type).toBe(ErrorType.CONFIGURATION_INVALID);
    expect(handler.wrap(s3Error('SlowDown', 503)).type).toBe(ErrorType.THROTTLED);
    expect(handler.wrap(s3Error('NoSuchKey', 404)).type).toBe(ErrorType.OBJECT_NOT_FOUND);
  });

  test('5xx and unnamed S3 statuses map by HTTP status', () => {
    expect(handler.wrap(s3Error('UnknownError', 503)).type).toBe(ErrorType.THROTTLED);
    expect(handler.wrap(s3Error('UnknownError', 500)).type).toBe(ErrorType.SOURCE_UNAVAILABLE);
    expect(handler.wrap(s3Error('UnknownError', 403)).type).toBe(ErrorType.RIGHTS_ACCESS_DENIED);
  });

  test('a socket error wrapped by a client library maps through its cause', () => {
    const outer = new Error('request failed', { cause: errnoError('ECONNREFUSED') });
    expect(handler.wrap(outer).type).toBe(ErrorType.NETWORK_CONNECTION_FAILED);
  });

  test('unknown errors become INTERNAL and keep their cause', () => {
    const raw = new TypeError('undefined is not a function');
    const wrapped = handler.wrap(raw);
    expect(wrapped.type).toBe(ErrorType.INTERNAL);
    expect(wrapped.cause).toBe(raw);
    expect(handler.wrap('a string').type).toBe(ErrorType.INTERNAL);
  });
});

describe('toApplicationFailure', () => {
  test.each(Object.values(ErrorType))('%s keeps its type and retry decision', (type) => {
    const failure = toApplicationFailure(platformError(type, `boom ${type}`, { objectId: 'ds:a' }));
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure.type).toBe(type);
    expect(failure.nonRetryable).toBe(!ERROR_TYPE_RULES[type].retryable);
    expect(failure.message).toBe(`boom ${type}`);
    expect(failure.details).toEqual([{ type, context: { objectId: 'ds:a' } }]);
  });

  test('raw errors go through the ErrorHandler first', () => {
    const failure = toApplicationFailure(pgError('28P01'));
    expect(failure.type).toBe('RIGHTS_AUTHENTICATION_FAILED');
    expect(failure.nonRetryable).toBe(true);
  });

  test('details never carry the cause (which may hold connection strings)', () => {
    const raw = Object.assign(new Error('password authentication failed for user "scanner"'), {
      code: '28P01',
      connectionString: 'postgres://scanner:hunter2@db/app',
    });
    const failure = toApplicationFailure(handler.wrap(raw, { host: 'db' }));
    expect(JSON.stringify(failure.details)).not.toContain('hunter2');
  });
});
