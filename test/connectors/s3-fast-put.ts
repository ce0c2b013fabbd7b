/**
 * Test and bench helper: creates many empty S3 objects fast. A hand-signed (SigV4) PUT over a
 * keep-alive agent costs a fraction of the AWS SDK's per-request CPU (about 4x the rate on the
 * 2-core CI machine), which is what makes seeding 10,000+ objects fit in a test.
 */
import { createHash, createHmac } from 'node:crypto';
import http from 'node:http';
import { mapWithConcurrency } from '../../src/connectors/common';

const EMPTY_SHA256 = createHash('sha256').update('').digest('hex');

export interface FastPutTarget {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
}

/** PUTs an empty object at every key (path-style, http only), `concurrency` at a time. */
export async function putEmptyObjects(
  target: FastPutTarget,
  bucket: string,
  keys: readonly string[],
  concurrency = 64,
): Promise<void> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  try {
    await mapWithConcurrency(keys, concurrency, (key) => putEmpty(target, agent, bucket, key));
  } finally {
    agent.destroy();
  }
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

function putEmpty(target: FastPutTarget, agent: http.Agent, bucket: string, key: string): Promise<void> {
  const url = new URL(target.endpoint);
  const amzDate = new Date().toISOString().replace(/[:-]|\.\d{3}/g, '');
  const day = amzDate.slice(0, 8);
  const encodedPath = `/${bucket}/${key
    .split('/')
    .map((part) =>
      encodeURIComponent(part).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`),
    )
    .join('/')}`;
  const signedHeaders = 'host;x-amz-content-sha256;x-amz-date';
  const canonicalRequest = [
    'PUT',
    encodedPath,
    '',
    `host:${url.host}`,
    `x-amz-content-sha256:${EMPTY_SHA256}`,
    `x-amz-date:${amzDate}`,
    '',
    signedHeaders,
    EMPTY_SHA256,
  ].join('\n');
  const scope = `${day}/${target.region}/s3/aws4_request`;
  const stringToSign = [
    'AWS4-HMAC-SHA256',
    amzDate,
    scope,
    createHash('sha256').update(canonicalRequest).digest('hex'),
  ].join('\n');
  const signingKey = hmac(
    hmac(hmac(hmac(`AWS4${target.secretAccessKey}`, day), target.region), 's3'),
    'aws4_request',
  );
  const signature = createHmac('sha256', signingKey).update(stringToSign).digest('hex');
  return new Promise((resolve, reject) => {
    const request = http.request(
      {
        host: url.hostname,
        port: url.port,
        path: encodedPath,
        method: 'PUT',
        agent,
        headers: {
          host: url.host,
          'x-amz-date': amzDate,
          'x-amz-content-sha256': EMPTY_SHA256,
          'content-length': 0,
          authorization: `AWS4-HMAC-SHA256 Credential=${target.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`,
        },
      },
      (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () =>
          response.statusCode === 200
            ? resolve()
            : reject(new Error(`PUT ${key}: HTTP ${response.statusCode} ${body}`)),
        );
      },
    );
    request.on('error', reject);
    request.end();
  });
}
