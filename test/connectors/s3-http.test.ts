import { parseListObjectsV2, S3ResponseError } from '../../src/connectors/s3-http';
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
