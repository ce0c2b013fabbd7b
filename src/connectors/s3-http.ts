/**
 * A lean S3 client for the three calls the S3 connector makes: ListObjectsV2, HeadObject and
 * GetObject. Requests are signed with SigV4 (below; checked against AWS's published examples) and
 * sent over one keep-alive agent; listing responses are parsed by a small purpose-built XML scanner.
 *
 * Why not `@aws-sdk/client-s3`: its middleware stack and generic XML deserializer cost about 20 µs of
 * CPU per listed key (this parser: about 5) and over 1 ms per GET (this client: about 0.3), and
 * SeaweedFS spent about twice the CPU on the SDK's GETs (bench/connectors-s3.ts, 2 cores).
 * Errors keep the SDK's shape (`name`/`Code` = the S3 error code, `$metadata.httpStatusCode`), so
 * `ErrorHandler` maps them with the same S3 table.
 */
import { createHash, createHmac } from 'node:crypto';
import http, { type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import https from 'node:https';
import { decodeEntities } from '../extraction/markup';

const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
/** Error bodies are small XML documents; anything longer is cut (the code comes first). */
const MAX_ERROR_BODY = 64 * 1024;

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}

export type S3CredentialsProvider = () => Promise<S3Credentials>;

export interface S3HttpOptions {
  bucket: string;
  region: string;
  /** Default: AWS (`https://s3.<region>.amazonaws.com`). */
  endpoint?: string;
  /** `<endpoint>/<bucket>/<key>` instead of `<bucket>.<endpoint host>/<key>`. */
  forcePathStyle: boolean;
  credentials: S3CredentialsProvider;
  /** Sockets kept per host (keep-alive). */
  maxSockets: number;
  connectTimeoutMs: number;
  /** Socket idle timeout per request. */
  requestTimeoutMs: number;
}

/** One `<Contents>` entry of a ListObjectsV2 page. */
export interface ListedObject {
  key: string;
  size: number;
  etag?: string;
  /** ISO-8601 with milliseconds, as `Date.toISOString()` gives it. */
  lastModified?: string;
  storageClass?: string;
}

export interface ListPage {
  objects: ListedObject[];
  isTruncated: boolean;
  nextContinuationToken?: string;
}

export interface ListRequest {
  prefix: string;
  startAfter?: string;
  continuationToken?: string;
  maxKeys: number;
}

/** The response headers of a HEAD or GET that callers use. */
export interface ObjectHead {
  /** Bytes in this response's body (HEAD: in the object). */
  contentLength?: number;
  /** Bytes in the whole object: `Content-Range`'s total for a ranged GET, else `Content-Length`. */
  objectSize?: number;
  etag?: string;
  lastModified?: string;
  contentType?: string;
  storageClass?: string;
  serverSideEncryption?: string;
  kmsKeyId?: string;
  versionId?: string;
}

/**
 * A non-2xx S3 answer, shaped like the AWS SDK's service exceptions: `name` and `Code` are the S3
 * error code when the body has one (HEAD answers have none), `$metadata.httpStatusCode` the status.
 */
export class S3ResponseError extends Error {
  readonly Code: string | undefined;
  readonly $metadata: { httpStatusCode: number; requestId?: string };
  readonly $fault: 'client' | 'server';

  constructor(status: number, code: string | undefined, message: string, requestId: string | undefined) {
    super(message);
    this.name = code ?? `Http${status}`;
    this.Code = code;
    this.$metadata = { httpStatusCode: status, requestId };
    this.$fault = status >= 500 ? 'server' : 'client';
  }
}

/** What a signed request carries: its headers, `authorization` included. */
export type SignedHeaders = Record<string, string>;

/**
 * AWS Signature Version 4 for S3 requests without a body (GET, HEAD), as specified in "Authenticating
 * Requests: Using the Authorization Header". The signing key is derived once per day and secret, so a
 * request costs one hash and one HMAC; the AWS SDK's signer derived a cache key with an HMAC per request and
 * cost about 50 µs of CPU a request, this about 10.
 */
export class S3RequestSigner {
  private signingKey: { day: string; secret: string; key: Buffer } | undefined;

  constructor(
    private readonly region: string,
    private readonly credentials: S3CredentialsProvider,
  ) {}

  /**
   * Signs `method host path?query` with `headers` (lowercase names) plus host, x-amz-date,
   * x-amz-content-sha256 (of the empty body) and, for temporary credentials, x-amz-security-token.
   * `path` is signed as sent (S3 wants its segments encoded once, not twice).
   */
  async sign(
    method: string,
    host: string,
    path: string,
    query: Record<string, string>,
    headers: Record<string, string>,
    now = new Date(),
  ): Promise<SignedHeaders> {
    const credentials = await this.credentials();
    const amzDate = now.toISOString().replace(/[-:]|\.\d{3}/g, '');
    const day = amzDate.slice(0, 8);
    const all: SignedHeaders = {
      ...headers,
      host,
      'x-amz-content-sha256': EMPTY_SHA256,
      'x-amz-date': amzDate,
    };
    if (credentials.sessionToken) all['x-amz-security-token'] = credentials.sessionToken;
    const names = Object.keys(all).sort();
    let canonicalHeaders = '';
    for (const name of names) canonicalHeaders += `${name}:${all[name].trim().replace(/\s+/g, ' ')}\n`;
    const signedHeaders = names.join(';');
    const canonicalQuery = Object.keys(query)
      .map((name) => [escapeUri(name), escapeUri(query[name])])
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([name, value]) => `${name}=${value}`)
      .join('&');
    const canonicalRequest = `${method}\n${path}\n${canonicalQuery}\n${canonicalHeaders}\n${signedHeaders}\n${EMPTY_SHA256}`;
    const scope = `${day}/${this.region}/s3/aws4_request`;
    const stringToSign = `AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n${createHash('sha256').update(canonicalRequest).digest('hex')}`;
    const signature = createHmac('sha256', this.keyFor(day, credentials.secretAccessKey))
      .update(stringToSign)
      .digest('hex');
    all.authorization = `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
    return all;
  }

  private keyFor(day: string, secret: string): Buffer {
    if (this.signingKey?.day !== day || this.signingKey.secret !== secret) {
      const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();
      const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, day), this.region), 's3'), 'aws4_request');
      this.signingKey = { day, secret, key };
    }
    return this.signingKey.key;
  }
}

/** RFC 3986 encoding as SigV4 wants it (also `!'()*`). */
function escapeUri(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

export class S3HttpClient {
  private readonly agent: http.Agent;
  private readonly transport: typeof http | typeof https;
  private readonly hostname: string;
  private readonly port: number | undefined;
  private readonly host: string;
  /** Path to the bucket, without a trailing slash ('' for virtual-hosted style). */
  private readonly bucketPath: string;
  private readonly signer: S3RequestSigner;
  /** Requests in flight per caller's abort signal: one listener per signal instead of one per request. */
  private readonly inFlight = new WeakMap<AbortSignal, Set<http.ClientRequest>>();

  constructor(private readonly options: S3HttpOptions) {
    const endpoint = new URL(options.endpoint ?? `https://s3.${options.region}.amazonaws.com`);
    this.transport = endpoint.protocol === 'https:' ? https : http;
    this.agent = new this.transport.Agent({ keepAlive: true, maxSockets: options.maxSockets });
    // Virtual-hosted style needs a DNS name for the bucket: not with dots (TLS names) or IP hosts.
    const pathStyle =
      options.forcePathStyle ||
      options.bucket.includes('.') ||
      /^[\d.]+$|^\[|^localhost$/.test(endpoint.hostname);
    this.hostname = pathStyle ? endpoint.hostname : `${options.bucket}.${endpoint.hostname}`;
    this.port = endpoint.port ? Number(endpoint.port) : undefined;
    this.host = endpoint.port ? `${this.hostname}:${endpoint.port}` : this.hostname;
    const basePath = endpoint.pathname.replace(/\/+$/, '');
    this.bucketPath = pathStyle ? `${basePath}/${escapeUri(options.bucket)}` : basePath;
    this.signer = new S3RequestSigner(options.region, options.credentials);
  }

  /** One ListObjectsV2 page (keys URL-encoded on the wire, so any key survives XML). */
  async listObjectsV2(request: ListRequest, signal?: AbortSignal): Promise<ListPage> {
    return parseListObjectsV2(await this.listObjectsV2Xml(request, signal));
  }

  /** The raw XML of one ListObjectsV2 page (the benchmark times the server with it). */
  async listObjectsV2Xml(request: ListRequest, signal?: AbortSignal): Promise<string> {
    const query: Record<string, string> = {
      'list-type': '2',
      'encoding-type': 'url',
      'max-keys': String(request.maxKeys),
    };
    if (request.prefix) query.prefix = request.prefix;
    if (request.continuationToken) query['continuation-token'] = request.continuationToken;
    else if (request.startAfter) query['start-after'] = request.startAfter;
    const response = await this.send('GET', undefined, query, {}, signal);
    return readBody(response, Infinity);
  }

  async headObject(key: string, signal?: AbortSignal): Promise<ObjectHead> {
    const response = await this.send('HEAD', key, {}, {}, signal);
    response.resume();
    return objectHead(response.headers);
  }

  /** Resolves once the headers are in; the caller must consume or destroy `body`. */
  async getObject(
    key: string,
    signal?: AbortSignal,
    range?: string,
  ): Promise<{ head: ObjectHead; body: IncomingMessage }> {
    const response = await this.send('GET', key, {}, range ? { range } : {}, signal);
    return { head: objectHead(response.headers), body: response };
  }

  destroy(): void {
    this.agent.destroy();
  }

  /**
   * Destroys `request` (and with it its response) when `signal` aborts. Node's `signal` request option adds
   * and removes an EventTarget listener per request, a tenth of a small GET's CPU; here each signal gets one
   * listener and requests join and leave a set.
   */
  private abortWith(signal: AbortSignal | undefined, request: http.ClientRequest): void {
    if (!signal) return;
    let requests = this.inFlight.get(signal);
    if (!requests) {
      const set = new Set<http.ClientRequest>();
      signal.addEventListener(
        'abort',
        () => {
          for (const inFlight of set) inFlight.destroy(abortError(signal));
          set.clear();
        },
        { once: true },
      );
      this.inFlight.set(signal, set);
      requests = set;
    }
    requests.add(request);
    request.once('close', () => requests.delete(request));
  }

  private async send(
    method: 'GET' | 'HEAD',
    key: string | undefined,
    query: Record<string, string>,
    headers: Record<string, string>,
    signal: AbortSignal | undefined,
  ): Promise<IncomingMessage> {
    signal?.throwIfAborted();
    const path =
      key === undefined
        ? this.bucketPath || '/'
        : `${this.bucketPath}/${key.split('/').map(escapeUri).join('/')}`;
    const signed = await this.signer.sign(method, this.host, path, query, headers);
    const search = Object.keys(query)
      .map((name) => `${escapeUri(name)}=${escapeUri(query[name])}`)
      .join('&');
    const response = await new Promise<IncomingMessage>((resolve, reject) => {
      const request = this.transport.request(
        {
          method,
          hostname: this.hostname,
          port: this.port,
          path: search ? `${path}?${search}` : path,
          headers: signed,
          agent: this.agent,
          timeout: this.options.requestTimeoutMs,
        },
        resolve,
      );
      this.abortWith(signal, request);
      request.on('error', reject);
      request.on('timeout', () =>
        request.destroy(timeoutError(`no answer within ${this.options.requestTimeoutMs} ms`)),
      );
      // A reused keep-alive socket is already connected; only a new one gets a connect deadline.
      request.on('socket', (socket) => {
        if (!socket.connecting) return;
        const timer = setTimeout(
          () => request.destroy(timeoutError(`connect timed out after ${this.options.connectTimeoutMs} ms`)),
          this.options.connectTimeoutMs,
        );
        socket.once('connect', () => clearTimeout(timer));
        socket.once('close', () => clearTimeout(timer));
      });
      request.end();
    });
    const status = response.statusCode ?? 0;
    if (status >= 200 && status < 300) return response;
    const requestId = header(response.headers, 'x-amz-request-id');
    const body = method === 'HEAD' ? '' : await readBody(response, MAX_ERROR_BODY).catch(() => '');
    const code = xmlText(body, 'Code');
    const message = xmlText(body, 'Message') ?? `HTTP ${status}${code ? ` ${code}` : ''}`;
    throw new S3ResponseError(status, code, message, requestId);
  }
}

function abortError(signal: AbortSignal): Error {
  return Object.assign(new Error('The operation was aborted', { cause: signal.reason }), {
    name: 'AbortError',
    code: 'ABORT_ERR',
  });
}

function timeoutError(message: string): Error {
  return Object.assign(new Error(message), { name: 'TimeoutError', code: 'ETIMEDOUT' });
}

/** The body as UTF-8 text; at most `limit` bytes are kept. */
async function readBody(response: IncomingMessage, limit: number): Promise<string> {
  const parts: Buffer[] = [];
  let length = 0;
  for await (const chunk of response) {
    const buffer = chunk as Buffer;
    if (length < limit) parts.push(buffer);
    length += buffer.length;
  }
  return Buffer.concat(parts).toString('utf8');
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function objectHead(headers: IncomingHttpHeaders): ObjectHead {
  const length = header(headers, 'content-length');
  const lastModified = header(headers, 'last-modified');
  const range = header(headers, 'content-range');
  const total = range === undefined ? undefined : /\/(\d+)$/.exec(range)?.[1];
  return {
    contentLength: length === undefined ? undefined : Number(length),
    objectSize: total !== undefined ? Number(total) : length === undefined ? undefined : Number(length),
    etag: header(headers, 'etag'),
    lastModified: lastModified === undefined ? undefined : isoTimestamp(lastModified),
    contentType: header(headers, 'content-type'),
    storageClass: header(headers, 'x-amz-storage-class'),
    serverSideEncryption: header(headers, 'x-amz-server-side-encryption'),
    kmsKeyId: header(headers, 'x-amz-server-side-encryption-aws-kms-key-id'),
    versionId: header(headers, 'x-amz-version-id'),
  };
}

const ISO_MILLIS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const ISO_SECONDS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;

/** `Date.toISOString()` form of an S3 timestamp (ISO-8601 in listings, RFC 1123 in headers). */
function isoTimestamp(text: string): string | undefined {
  if (ISO_MILLIS.test(text)) return text;
  // Listings of some servers (SeaweedFS) have whole seconds: the common case, without a Date.
  if (ISO_SECONDS.test(text)) return `${text.slice(0, 19)}.000Z`;
  const time = Date.parse(text);
  return Number.isNaN(time) ? undefined : new Date(time).toISOString();
}

/** The decoded text of the first `<name>…</name>` in xml[from, to), or undefined. */
function xmlText(xml: string, name: string, from = 0, to = xml.length): string | undefined {
  const open = xml.indexOf(`<${name}>`, from);
  if (open < 0 || open >= to) return undefined;
  const start = open + name.length + 2;
  const end = xml.indexOf(`</${name}>`, start);
  if (end < 0 || end > to) return undefined;
  return decodeEntities(xml.slice(start, end));
}

/** `encoding-type=url` values: percent-encoded UTF-8 with '+' for space (form encoding). */
function decodeUrlValue(value: string): string {
  return value.includes('%') || value.includes('+') ? decodeURIComponent(value.replace(/\+/g, ' ')) : value;
}

/**
 * Parses a ListObjectsV2 result. A scan for the few elements the connector needs, not a general XML
 * parser: S3 escapes `<` and `&` in text, so a tag can only be a tag. Keys are URL-decoded only when
 * the server says it encoded them (`<EncodingType>url</EncodingType>`; some servers ignore the option).
 */
export function parseListObjectsV2(xml: string): ListPage {
  if (!xml.includes('</ListBucketResult>')) {
    throw new S3ResponseError(
      502,
      'InternalError',
      'malformed ListObjectsV2 response (no ListBucketResult)',
      undefined,
    );
  }
  const urlEncoded = xmlText(xml, 'EncodingType') === 'url';
  const objects: ListedObject[] = [];
  let at = 0;
  for (;;) {
    const start = xml.indexOf('<Contents>', at);
    if (start < 0) break;
    const end = xml.indexOf('</Contents>', start);
    if (end < 0) break;
    const rawKey = xmlText(xml, 'Key', start, end);
    if (rawKey !== undefined) {
      const lastModified = xmlText(xml, 'LastModified', start, end);
      objects.push({
        key: urlEncoded ? decodeUrlValue(rawKey) : rawKey,
        size: Number(xmlText(xml, 'Size', start, end) ?? 0),
        etag: xmlText(xml, 'ETag', start, end),
        lastModified: lastModified === undefined ? undefined : isoTimestamp(lastModified),
        storageClass: xmlText(xml, 'StorageClass', start, end),
      });
    }
    at = end + '</Contents>'.length;
  }
  // Top-level elements sit before or after the <Contents> run, depending on the server.
  const outside = (name: string) => {
    const value = xmlText(xml, name, at);
    if (value !== undefined) return value;
    const firstContents = xml.indexOf('<Contents>');
    return xmlText(xml, name, 0, firstContents < 0 ? xml.length : firstContents);
  };
  return {
    objects,
    isTruncated: outside('IsTruncated') === 'true',
    nextContinuationToken: outside('NextContinuationToken'),
  };
}
