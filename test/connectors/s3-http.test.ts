import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  parseListObjectsV2,
  S3HttpClient,
  S3RequestSigner,
  S3ResponseError,
  type S3Credentials,
} from '../../src/connectors/s3-http';
import { decodeEntities } from '../../src/extraction/markup';

/** The listing parser and the XML text decoding; the HTTP side is tested against SeaweedFS in s3.test.ts. */

const HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n';
const NS = 'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"';

describe('XML text decoding (decodeEntities)', () => {
  test.each([
    ['plain', 'plain'],
    ['&#34;0a1b&#34;', '"0a1b"'],
    ['&quot;0a1b&quot;', '"0a1b"'],
    ['a&amp;b&lt;c&gt;d&apos;e', "a&b<c>d'e"],
    ['&#x1F600;&#xD;&#10;&#X41;', '😀\r\nA'],
    ['&amp;amp;', '&amp;'],
    ['lone & and &unknown; and &#;', 'lone & and &unknown; and &#;'],
    ['trailing &amp', 'trailing &amp'],
  ])('%j → %j', (input, output) => {
    expect(decodeEntities(input)).toBe(output);
  });
});

describe('parseListObjectsV2', () => {
  test('AWS layout: top-level fields first, URL-encoded keys, entities, pretty-printed', () => {
    const xml = `${HEAD}<ListBucketResult ${NS}>
  <Name>b</Name><Prefix>p%2F</Prefix><KeyCount>3</KeyCount><MaxKeys>3</MaxKeys>
  <EncodingType>url</EncodingType>
  <IsTruncated>true</IsTruncated>
  <NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>
  <Contents>
    <Key>p/a%2Bb+c.txt</Key>
    <LastModified>2009-10-12T17:50:30.000Z</LastModified>
    <ETag>"fba9dede5f27731c9771645a39863328"</ETag>
    <ChecksumAlgorithm>CRC32</ChecksumAlgorithm>
    <Size>434234</Size>
    <Owner><ID>75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a</ID></Owner>
    <StorageClass>GLACIER</StorageClass>
  </Contents>
  <Contents><Key>p/%C3%BCn%C3%AF%20%F0%9F%98%80%01%26amp%3B</Key><Size>0</Size><ETag>&quot;d41d8cd98f00b204e9800998ecf8427e&quot;</ETag><LastModified>Mon, 12 Oct 2009 17:50:30 GMT</LastModified></Contents>
  <Contents><Key>p/100%25</Key><Size>7</Size></Contents>
</ListBucketResult>`;
    expect(parseListObjectsV2(xml)).toEqual({
      isTruncated: true,
      nextContinuationToken: '1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=',
      objects: [
        {
          key: 'p/a+b c.txt',
          size: 434234,
          etag: '"fba9dede5f27731c9771645a39863328"',
          lastModified: '2009-10-12T17:50:30.000Z',
          storageClass: 'GLACIER',
        },
        {
          key: 'p/ünï 😀\u0001&amp;',
          size: 0,
          etag: '"d41d8cd98f00b204e9800998ecf8427e"',
          lastModified: '2009-10-12T17:50:30.000Z',
          storageClass: undefined,
        },
        { key: 'p/100%', size: 7, etag: undefined, lastModified: undefined, storageClass: undefined },
      ],
    });
  });

  test('SeaweedFS layout: top-level fields around the contents; no EncodingType means no URL decoding', () => {
    const xml = `${HEAD}<ListBucketResult ${NS}><Name>b</Name><Prefix></Prefix><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated><Contents><Key>x&amp;y&lt;z&gt;&#34;q&#39; a+b%20.txt</Key><ETag>&#34;9dd4e461268c8034f5c8564e155c67a6&#34;</ETag><Size>1</Size><StorageClass>STANDARD</StorageClass><LastModified>2026-11-24T06:24:34Z</LastModified></Contents><KeyCount>1</KeyCount></ListBucketResult>`;
    expect(parseListObjectsV2(xml)).toEqual({
      isTruncated: false,
      nextContinuationToken: undefined,
      objects: [
        {
          key: `x&y<z>"q' a+b%20.txt`,
          size: 1,
          etag: '"9dd4e461268c8034f5c8564e155c67a6"',
          lastModified: '2026-11-24T06:24:34.000Z',
          storageClass: 'STANDARD',
        },
      ],
    });
  });

  test('an empty listing; a truncated document is an error, not an empty page', () => {
    expect(
      parseListObjectsV2(
        `${HEAD}<ListBucketResult ${NS}><Name>b</Name><KeyCount>0</KeyCount><IsTruncated>false</IsTruncated></ListBucketResult>`,
      ),
    ).toEqual({ objects: [], isTruncated: false, nextContinuationToken: undefined });
    const cut = `${HEAD}<ListBucketResult ${NS}><IsTruncated>true</IsTruncated><Contents><Key>a</Key>`;
    expect(() => parseListObjectsV2(cut)).toThrow(S3ResponseError);
  });
});

describe('SigV4 signing (S3RequestSigner)', () => {
  // The examples of AWS's "Authenticating Requests: Using the Authorization Header" (Signature Version 4).
  const credentials = {
    accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
    secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  };
  const at = new Date('2013-05-24T00:00:00Z');
  const host = 'examplebucket.s3.amazonaws.com';
  const scope = 'Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request';

  test("GET Object with a Range header: AWS's signature", async () => {
    const signer = new S3RequestSigner('us-east-1', async () => credentials);
    const headers = await signer.sign('GET', host, '/test.txt', {}, { range: 'bytes=0-9' }, at);
    expect(headers).toEqual({
      host,
      range: 'bytes=0-9',
      'x-amz-content-sha256': 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
      'x-amz-date': '20130524T000000Z',
      authorization: `AWS4-HMAC-SHA256 ${scope}, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41`,
    });
  });

  test("ListObjects with query parameters (given unsorted): AWS's signature, also from the cached key", async () => {
    const signer = new S3RequestSigner('us-east-1', async () => credentials);
    const expected = `AWS4-HMAC-SHA256 ${scope}, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7`;
    for (let i = 0; i < 2; i++) {
      const headers = await signer.sign('GET', host, '/', { prefix: 'J', 'max-keys': '2' }, {}, at);
      expect(headers.authorization).toBe(expected);
    }
  });

  test('temporary credentials sign their session token; a new day or secret derives a new key', async () => {
    let current: S3Credentials = { ...credentials, sessionToken: 'token/with+chars' };
    const signer = new S3RequestSigner('us-east-1', async () => current);
    const withToken = await signer.sign('HEAD', host, '/test.txt', {}, {}, at);
    expect(withToken['x-amz-security-token']).toBe('token/with+chars');
    expect(withToken.authorization).toContain(
      'SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token,',
    );
    current = { ...credentials, sessionToken: '' };
    const plain = await signer.sign('GET', host, '/test.txt', {}, { range: 'bytes=0-9' }, at);
    expect(plain.authorization).toMatch(
      /Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41$/,
    );
    current = { ...credentials, secretAccessKey: 'another' };
    const otherSecret = await signer.sign('GET', host, '/test.txt', {}, { range: 'bytes=0-9' }, at);
    expect(otherSecret.authorization).not.toMatch(/f0e8bdb87c96/);
    current = { ...credentials };
    const nextDay = await signer.sign(
      'GET',
      host,
      '/test.txt',
      {},
      { range: 'bytes=0-9' },
      new Date('2013-05-25T00:00:00Z'),
    );
    expect(nextDay.authorization).toContain('/20130525/us-east-1/s3/aws4_request');
  });
});

describe('aborting requests', () => {
  test('an abort signal ends every request in flight under it, headers awaited or body streaming, and no other', async () => {
    // A server that answers /slow never, and /stream with headers and then a body that never ends.
    const server = http.createServer((req, res) => {
      if (req.url?.includes('stream')) {
        res.writeHead(200, { 'content-length': '1000' });
        res.write('partial');
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const client = new S3HttpClient({
      bucket: 'b',
      region: 'us-east-1',
      endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      forcePathStyle: true,
      credentials: async () => ({ accessKeyId: 'k', secretAccessKey: 's' }),
      maxSockets: 8,
      connectTimeoutMs: 5_000,
      requestTimeoutMs: 60_000,
    });
    try {
      const controller = new AbortController();
      const other = new AbortController();
      const slow = client.headObject('slow', controller.signal);
      const slowToo = client.getObject('slow-too', controller.signal);
      const untouched = client.headObject('slow-other', other.signal);
      const streaming = await client.getObject('stream', controller.signal);
      const body = (async () => {
        for await (const chunk of streaming.body) void chunk;
      })();
      controller.abort();
      await expect(slow).rejects.toMatchObject({ name: 'AbortError', code: 'ABORT_ERR' });
      await expect(slowToo).rejects.toMatchObject({ name: 'AbortError' });
      await expect(body).rejects.toThrow();
      // An already aborted signal refuses new requests at once.
      await expect(client.headObject('slow', controller.signal)).rejects.toMatchObject({
        name: 'AbortError',
      });
      // The request under another signal is still waiting for its answer.
      const outcome = await Promise.race([
        untouched.then(
          () => 'settled',
          () => 'settled',
        ),
        new Promise((resolve) => setTimeout(() => resolve('pending'), 200)),
      ]);
      expect(outcome).toBe('pending');
      other.abort();
      await expect(untouched).rejects.toMatchObject({ name: 'AbortError' });
    } finally {
      client.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
