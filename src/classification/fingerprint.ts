/**
 * Masked previews and keyed fingerprints: findings never carry the raw value. The fingerprint is
 * HMAC-SHA256 of the normalised value under a per-deployment key, so equal values correlate across
 * objects and scans without being recoverable.
 */

import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ConfigurationError } from '../core/errors';
import { unsliced } from '../core/strings';
import type { MaskStyle, Normalisation } from './detectors';
import { hmacSha256Hex } from './native-scan';
import { compact, digitsOf } from './validators';

export const FINGERPRINT_KEY_ENV = 'ASSAY_FINGERPRINT_KEY';
export const DEFAULT_FINGERPRINT_KEY_FILE = path.join('.assay', 'fingerprint.key');

/** A key given as text: even-length hex of ≥ 32 digits is decoded, anything else is used as UTF-8. */
export function parseKey(text: string): Buffer {
  const trimmed = text.trim();
  if (/^(?:[0-9a-fA-F]{2}){16,}$/.test(trimmed)) return Buffer.from(trimmed, 'hex');
  return Buffer.from(trimmed, 'utf8');
}

/**
 * Resolves the fingerprint key: explicit option, else `ASSAY_FINGERPRINT_KEY`, else the key file
 * (default `.assay/fingerprint.key` under the current directory), created with 32 random bytes
 * (mode 0600) on first use.
 */
export async function resolveFingerprintKey(options: {
  fingerprintKey?: string | Buffer;
  fingerprintKeyFile?: string;
}): Promise<Buffer> {
  if (Buffer.isBuffer(options.fingerprintKey)) return Buffer.from(options.fingerprintKey);
  if (typeof options.fingerprintKey === 'string' && options.fingerprintKey)
    return parseKey(options.fingerprintKey);
  const fromEnv = process.env[FINGERPRINT_KEY_ENV];
  if (fromEnv) return parseKey(fromEnv);
  const file = path.resolve(options.fingerprintKeyFile ?? DEFAULT_FINGERPRINT_KEY_FILE);
  try {
    return await readKeyFile(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw keyFileError(file, error);
  }
  try {
    await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
    await writeFile(file, randomBytes(32), { mode: 0o600, flag: 'wx' });
  } catch (error) {
    // Another process created it first: use theirs.
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw keyFileError(file, error);
  }
  return readKeyFile(file);
}

async function readKeyFile(file: string): Promise<Buffer> {
  const key = await readFile(file);
  if (key.length === 0) throw new ConfigurationError(`fingerprint key file ${file} is empty`, { file });
  return key;
}

function keyFileError(file: string, cause: unknown): ConfigurationError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new ConfigurationError(`cannot use fingerprint key file ${file}: ${reason}`, { file }, { cause });
}

export function normaliseValue(value: string, how: Normalisation): string {
  switch (how) {
    case 'digits':
      return digitsOf(value);
    case 'compact':
      return compact(value);
    case 'lower':
      return value.trim().toLowerCase();
    default:
      return value;
  }
}

/** Values remembered per fingerprinter: real data repeats values (one address on every row). */
const FINGERPRINT_CACHE_ENTRIES = 4096;

/** Hex digits of one HMAC-SHA256. */
const HEX_CHARS = 64;

/**
 * HMAC-SHA256 under `key` of each normalised value, hex. Values are hashed natively in one call per batch
 * (createHmac costs ~2.5 µs a value, mostly in making the object); repeated values are answered from a
 * small in-memory cache.
 */
export function fingerprinter(key: Buffer): (normalised: string[]) => string[] {
  const hmac = hmacSha256Hex(key);
  const cache = new Map<string, string>();
  return (values) => {
    const out = new Array<string>(values.length);
    const missing: string[] = [];
    const missingAt: number[] = [];
    for (let i = 0; i < values.length; i++) {
      const hit = cache.get(values[i]);
      if (hit !== undefined) out[i] = hit;
      else {
        missing.push(values[i]);
        missingAt.push(i);
      }
    }
    if (missing.length === 0) return out;
    const hex = hmac(missing);
    for (let j = 0; j < missing.length; j++) {
      const digest = hex.slice(j * HEX_CHARS, (j + 1) * HEX_CHARS);
      out[missingAt[j]] = digest;
      // Clearing (rather than evicting one by one) keeps the hit path to one Map lookup.
      if (cache.size >= FINGERPRINT_CACHE_ENTRIES) cache.clear();
      cache.set(unsliced(missing[j]), unsliced(digest));
    }
    return out;
  };
}

const isAlnum = (code: number): boolean =>
  (code >= 48 && code <= 57) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122);

function countChars(value: string, test: (code: number) => boolean): number {
  let n = 0;
  for (let i = 0; i < value.length; i++) if (test(value.charCodeAt(i))) n++;
  return n;
}

/** Masks every letter/digit but the last `keep` ones, preserving separators. */
function maskTail(value: string, keep: number): string {
  let cut = value.length;
  for (let kept = 0; kept < keep && cut > 0;) if (isAlnum(value.charCodeAt(--cut))) kept++;
  // Appending characters beats an array join or a regex replace threefold on values this short.
  let masked = '';
  for (let i = 0; i < cut; i++) masked += isAlnum(value.charCodeAt(i)) ? '*' : value[i];
  return masked + value.slice(cut);
}

export function mask(value: string, style: MaskStyle): string {
  switch (style) {
    case 'email': {
      const at = value.lastIndexOf('@');
      if (at <= 0) return '*'.repeat(value.length);
      return `${value[0]}***${value.slice(at)}`;
    }
    case 'digits': {
      const digits = countChars(value, (code) => code >= 48 && code <= 57);
      return maskTail(value, digits >= 12 ? 4 : 2);
    }
    case 'password':
      return '********';
    case 'secret': {
      const visible = value.length >= 16 ? 4 : 0;
      return value.slice(0, visible) + '*'.repeat(Math.min(value.length - visible, 16));
    }
    default: {
      const alnum = countChars(value, isAlnum);
      return maskTail(value, alnum >= 8 ? 4 : alnum >= 4 ? 2 : 0);
    }
  }
}
