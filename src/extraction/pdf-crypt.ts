/**
 * The PDF standard security handler (PDF 32000-2 §7.6.4) for files that open without a password: many PDFs are
 * encrypted with an owner password only (to restrict printing or copying), so any reader shows them and their
 * text must be scanned like any other. Revisions 2–4 (RC4 40–128 bits, AES-128) and 5–6 (AES-256) are
 * supported; a file that needs a user password, or another security handler, is reported as encrypted.
 */
import { createCipheriv, createDecipheriv, createHash } from 'node:crypto';
import { readLiteralString } from './pdf-syntax';
import { LoopYielder } from './text';

/** Decrypts the streams of an encrypted PDF. */
export interface PdfDecryptor {
  /**
   * The decrypted bytes of a stream of object `objectNumber` `generation`; undefined when damaged. Long streams
   * are decrypted a slice at a time, letting the event loop run between slices.
   */
  decrypt(objectNumber: number, generation: number, data: Buffer): Promise<Buffer | undefined>;
}

/** Bytes decrypted between two chances for the event loop to run. */
const DECRYPT_SLICE_BYTES = 1024 * 1024;

export type PdfSecurity =
  { kind: 'none' } | { kind: 'open'; decryptor: PdfDecryptor } | { kind: 'locked'; reason: string };

/** Algorithm 2's padding string, also the empty password padded. */
const PASSWORD_PAD = Buffer.from('28bf4e5e4e758a4164004e56fffa01082e2e00b6d0683e802f0ca9fe6453697a', 'hex');

/** Reads the encryption dictionary and the file identifier of `source` (the whole file, latin1). */
export function pdfSecurity(source: string): PdfSecurity {
  const reference = /\/Encrypt\s+(\d+)\s+(\d+)\s+R/.exec(source);
  let dictionary: string | undefined;
  if (reference) {
    const object = new RegExp(`(?:^|[^0-9])${reference[1]}\\s+${reference[2]}\\s+obj\\b`).exec(source);
    if (object) {
      const start = object.index + object[0].length;
      const end = source.indexOf('endobj', start);
      dictionary = source.slice(start, end === -1 ? source.length : end);
    }
  } else {
    const inline = /\/Encrypt\s*<</.exec(source);
    if (!inline) return { kind: 'none' };
    dictionary = balancedDictionary(source, inline.index + inline[0].length - 2);
  }
  if (!dictionary) return { kind: 'locked', reason: 'its encryption dictionary is missing' };
  // Keys of the dictionary itself, not of the crypt filters nested in it (which have a /Length of their own).
  const topLevel = withoutNestedDictionaries(dictionary);
  const name = (key: string) => new RegExp(`/${key}\\s*/([A-Za-z0-9]+)`).exec(topLevel)?.[1];
  const number = (key: string) => {
    const match = new RegExp(`/${key}\\s+(-?\\d+)`).exec(topLevel);
    return match ? Number(match[1]) : undefined;
  };
  if (name('Filter') !== 'Standard') {
    return { kind: 'locked', reason: `security handler ${name('Filter') ?? '(none)'} is not supported` };
  }
  const version = number('V') ?? 0;
  const revision = number('R') ?? 0;
  const owner = stringValue(dictionary, 'O');
  const user = stringValue(dictionary, 'U');
  const permissions = number('P');
  if (!owner || !user || permissions === undefined) {
    return { kind: 'locked', reason: 'its encryption dictionary is damaged' };
  }
  const method = cryptMethod(dictionary, version);
  if (method === undefined) return { kind: 'locked', reason: 'its crypt filter is not supported' };
  if (revision >= 5) {
    const userKey = stringValue(dictionary, 'UE');
    if (!userKey || user.length < 48 || userKey.length < 32) {
      return { kind: 'locked', reason: 'its encryption dictionary is damaged' };
    }
    const hash = (salt: Buffer) => (revision === 5 ? sha('sha256', salt) : hardenedHash(salt));
    if (!hash(user.subarray(32, 40)).equals(user.subarray(0, 32))) {
      return { kind: 'locked', reason: 'it needs a password to open' };
    }
    const decipher = createDecipheriv('aes-256-cbc', hash(user.subarray(40, 48)), Buffer.alloc(16));
    decipher.setAutoPadding(false);
    const fileKey = Buffer.concat([decipher.update(userKey.subarray(0, 32)), decipher.final()]);
    return { kind: 'open', decryptor: aesDecryptor(() => fileKey, 'aes-256-cbc', new LoopYielder()) };
  }
  if (revision < 2 || revision > 4)
    return { kind: 'locked', reason: `revision ${revision} is not supported` };
  const id = fileIdentifier(source);
  const keyLength = revision === 2 ? 5 : Math.min(16, Math.max(5, (number('Length') ?? 40) / 8));
  const permissionBytes = Buffer.alloc(4);
  permissionBytes.writeInt32LE(permissions | 0);
  const parts = [PASSWORD_PAD, owner.subarray(0, 32), permissionBytes, id];
  if (revision >= 4 && /\/EncryptMetadata\s+false/.test(dictionary))
    parts.push(Buffer.from([255, 255, 255, 255]));
  let key = md5(Buffer.concat(parts));
  if (revision >= 3) for (let i = 0; i < 50; i++) key = md5(key.subarray(0, keyLength));
  key = key.subarray(0, keyLength);
  if (!userPasswordMatches(key, revision, user, id)) {
    return { kind: 'locked', reason: 'it needs a password to open' };
  }
  const objectKey = (objectNumber: number, generation: number) => {
    const salt = Buffer.from([
      objectNumber & 255,
      (objectNumber >> 8) & 255,
      (objectNumber >> 16) & 255,
      generation & 255,
      (generation >> 8) & 255,
    ]);
    const aesSalt = method === 'aes' ? Buffer.from('sAlT', 'latin1') : Buffer.alloc(0);
    return md5(Buffer.concat([key, salt, aesSalt])).subarray(0, Math.min(keyLength + 5, 16));
  };
  const yielder = new LoopYielder();
  if (method === 'identity') return { kind: 'open', decryptor: { decrypt: async (_n, _g, data) => data } };
  if (method === 'aes') return { kind: 'open', decryptor: aesDecryptor(objectKey, 'aes-128-cbc', yielder) };
  return {
    kind: 'open',
    decryptor: {
      async decrypt(objectNumber, generation, data) {
        const cipher = new Rc4(objectKey(objectNumber, generation));
        const out = Buffer.allocUnsafe(data.length);
        for (let at = 0; at < data.length; at += DECRYPT_SLICE_BYTES) {
          cipher.apply(data, out, at, Math.min(data.length, at + DECRYPT_SLICE_BYTES));
          await yielder.maybeYield();
        }
        return out;
      },
    },
  };
}

/** How streams are encrypted: V1–V2 use RC4; V4–V5 name a crypt filter for streams (/StmF). */
function cryptMethod(dictionary: string, version: number): 'rc4' | 'aes' | 'identity' | undefined {
  if (version === 1 || version === 2) return 'rc4';
  if (version !== 4 && version !== 5) return undefined;
  const streamFilter = /\/StmF\s*\/([A-Za-z0-9]+)/.exec(dictionary)?.[1] ?? 'Identity';
  if (streamFilter === 'Identity') return 'identity';
  const filter = new RegExp(`/${streamFilter}\\s*<<([^>]*)>>`).exec(dictionary)?.[1] ?? '';
  const cfm = /\/CFM\s*\/([A-Za-z0-9]+)/.exec(filter)?.[1] ?? 'None';
  if (cfm === 'V2') return 'rc4';
  if (cfm === 'AESV2' || cfm === 'AESV3') return 'aes';
  if (cfm === 'None') return 'identity';
  return undefined;
}

/** Algorithms 4 and 5: the key derived from the empty password decrypts /U to what it should be. */
function userPasswordMatches(key: Buffer, revision: number, user: Buffer, id: Buffer): boolean {
  const rc4 = (cipherKey: Buffer, data: Buffer) => {
    const out = Buffer.allocUnsafe(data.length);
    new Rc4(cipherKey).apply(data, out, 0, data.length);
    return out;
  };
  if (revision === 2) return rc4(key, PASSWORD_PAD).equals(user.subarray(0, 32));
  let check = rc4(key, md5(Buffer.concat([PASSWORD_PAD, id])));
  for (let i = 1; i <= 19; i++) check = rc4(Buffer.from(key.map((byte) => byte ^ i)), check);
  return check.equals(user.subarray(0, 16));
}

/** Algorithm 2.B (revision 6) for the empty password: SHA-256/384/512 rounds driven by AES-128 output. */
function hardenedHash(salt: Buffer): Buffer {
  let k = sha('sha256', salt);
  for (let round = 0; ; round++) {
    const block = Buffer.concat(Array.from({ length: 64 }, () => k));
    const cipher = createCipheriv('aes-128-cbc', k.subarray(0, 16), k.subarray(16, 32));
    cipher.setAutoPadding(false);
    const e = Buffer.concat([cipher.update(block), cipher.final()]);
    let sum = 0;
    for (let i = 0; i < 16; i++) sum += e[i];
    k = sha(['sha256', 'sha384', 'sha512'][sum % 3], e);
    if (round >= 63 && e[e.length - 1] <= round + 1 - 32) return k.subarray(0, 32);
  }
}

/** AES-CBC streams: a 16-byte IV, then the ciphertext with PKCS #7 padding. */
function aesDecryptor(
  keyFor: (objectNumber: number, generation: number) => Buffer,
  algorithm: 'aes-128-cbc' | 'aes-256-cbc',
  yielder: LoopYielder,
): PdfDecryptor {
  return {
    async decrypt(objectNumber, generation, data) {
      if (data.length < 16) return data.length === 0 ? data : undefined;
      try {
        const decipher = createDecipheriv(algorithm, keyFor(objectNumber, generation), data.subarray(0, 16));
        const parts: Buffer[] = [];
        for (let at = 16; at < data.length; at += DECRYPT_SLICE_BYTES) {
          parts.push(decipher.update(data.subarray(at, Math.min(data.length, at + DECRYPT_SLICE_BYTES))));
          await yielder.maybeYield();
        }
        parts.push(decipher.final());
        return Buffer.concat(parts);
      } catch {
        return undefined;
      }
    },
  };
}

/** RC4 (also ARCFOUR), resumable: OpenSSL 3 keeps it in its legacy provider, which Node does not load. */
export class Rc4 {
  private readonly s = new Uint8Array(256);
  private i = 0;
  private j = 0;

  constructor(key: Buffer) {
    const s = this.s;
    for (let i = 0; i < 256; i++) s[i] = i;
    for (let i = 0, j = 0; i < 256; i++) {
      j = (j + s[i] + key[i % key.length]) & 255;
      const swap = s[i];
      s[i] = s[j];
      s[j] = swap;
    }
  }

  /** XORs the key stream into input[from, to), written at the same positions of `output`. */
  apply(input: Buffer, output: Buffer, from: number, to: number): void {
    const s = this.s;
    let { i, j } = this;
    for (let n = from; n < to; n++) {
      i = (i + 1) & 255;
      j = (j + s[i]) & 255;
      const swap = s[i];
      s[i] = s[j];
      s[j] = swap;
      output[n] = input[n] ^ s[(s[i] + s[j]) & 255];
    }
    this.i = i;
    this.j = j;
  }
}

function md5(data: Buffer): Buffer {
  return createHash('md5').update(data).digest();
}

function sha(algorithm: string, data: Buffer): Buffer {
  return createHash(algorithm).update(data).digest();
}

/** The first element of the last /ID in the file (trailers and cross-reference streams alike). */
function fileIdentifier(source: string): Buffer {
  let last: Buffer | undefined;
  const idPattern = /\/ID\s*\[\s*/g;
  for (let match = idPattern.exec(source); match; match = idPattern.exec(source)) {
    last = stringAt(source, match.index + match[0].length) ?? last;
  }
  return last ?? Buffer.alloc(0);
}

/** The string value of `/key` in `dictionary`, hex `<…>` or literal `(…)`. */
function stringValue(dictionary: string, key: string): Buffer | undefined {
  const match = new RegExp(`/${key}\\s*(?=[<(])`).exec(dictionary);
  return match ? stringAt(dictionary, match.index + match[0].length) : undefined;
}

function stringAt(text: string, at: number): Buffer | undefined {
  if (text[at] === '<') {
    const end = text.indexOf('>', at);
    if (end === -1) return undefined;
    const hex = text.slice(at + 1, end).replace(/[^0-9A-Fa-f]/g, '');
    return Buffer.from(hex.length % 2 ? `${hex}0` : hex, 'hex');
  }
  if (text[at] === '(') return Buffer.from(readLiteralString(text, at)[0], 'latin1');
  return undefined;
}

/** `dictionary` (the text inside one `<< … >>`) with the dictionaries nested in it cut out. */
function withoutNestedDictionaries(dictionary: string): string {
  let out = '';
  let depth = 0;
  for (let i = 0; i < dictionary.length; i++) {
    const pair = dictionary.slice(i, i + 2);
    if (pair === '<<') {
      depth++;
      i++;
      if (depth === 1) out += '<<';
    } else if (pair === '>>') {
      if (depth === 1) out += '>>';
      depth = Math.max(0, depth - 1);
      i++;
    } else if (depth <= 1) out += dictionary[i];
  }
  return out;
}

/** The `<< … >>` dictionary starting at `start`, nested dictionaries included. */
function balancedDictionary(source: string, start: number): string | undefined {
  let depth = 0;
  for (let i = start; i < source.length - 1; i++) {
    if (source[i] === '<' && source[i + 1] === '<') {
      depth++;
      i++;
    } else if (source[i] === '>' && source[i + 1] === '>') {
      depth--;
      i++;
      if (depth === 0) return source.slice(start, i + 1);
    }
  }
  return undefined;
}
