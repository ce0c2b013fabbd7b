/**
 * Loader for the native candidate scanner and fingerprint HMAC (native/assay_scan.cc with
 * native/start_dfa.h), built by `npm run build:native` (part of `npm run setup`) against the system's RE2
 * (Debian `libre2-dev`) and Node's own OpenSSL.
 */
import { ConfigurationError } from '../core/errors';
import { loadAddon } from '../core/native-addon';

/** What one scan of a text found. */
export interface NativeScan {
  /**
   * Every position of the text where one of the patterns has a match starting, as (pattern index, start)
   * pairs in ascending start order. A superset of the JavaScript regexes' match starts.
   */
  candidates: Int32Array;
  /** Newlines in text[0, newlinesTo), when asked for; else 0. */
  newlines: number;
}

/** A compiled set of patterns. */
export interface NativeScanner {
  scan(text: string, newlinesTo?: number): NativeScan;
  /**
   * What finds the candidates: "dfa", one backward pass over the text for all patterns; or "re2", one
   * RE2 search per candidate, for patterns using syntax the DFA's parser does not take (same answer).
   */
  readonly engine: 'dfa' | 're2';
}

interface Binding {
  compile(patterns: string[], re2Only: boolean): object;
  engine(handle: object): 'dfa' | 're2';
  scan(handle: object, text: string, newlinesTo: number): Int32Array;
  isOneByte(text: string): boolean;
  hmacKey(key: Buffer): object;
  hmacHex(key: object, values: string[]): string;
}

const load = (): Binding => loadAddon<Binding>('assay_scan');

/**
 * Compiles patterns (RE2 syntax, flags inline); `owners[i]` names pattern i's detector in errors.
 * `re2Only` (default false) skips the DFA, so tests can compare the two engines.
 */
export function compileScanner(patterns: string[], owners: string[], re2Only = false): NativeScanner {
  const native = load();
  let handle: object;
  try {
    handle = native.compile(patterns, re2Only);
  } catch (error) {
    const message = (error as Error).message;
    const index = /^pattern (\d+): /.exec(message);
    const owner = index ? owners[Number(index[1])] : undefined;
    throw new ConfigurationError(
      owner ? `detector ${owner}: invalid pattern: ${message.slice(index![0].length)}` : message,
      owner ? { detector: owner } : {},
    );
  }
  return {
    engine: native.engine(handle),
    scan: (text, newlinesTo = -1) => {
      const out = native.scan(handle, text, newlinesTo);
      if (newlinesTo < 0) return { candidates: out, newlines: 0 };
      return { candidates: out.subarray(0, out.length - 1), newlines: out[out.length - 1] };
    },
  };
}

/** Whether V8 stores `text` at one byte a character (every character ≤ U+00FF). */
export function isOneByteString(text: string): boolean {
  return load().isOneByte(text);
}

/** Why RE2 (as the scanner compiles it) rejects `source`, or undefined when it accepts it. */
export function patternError(source: string): string | undefined {
  try {
    load().compile([source], true);
    return undefined;
  } catch (error) {
    if (error instanceof ConfigurationError) throw error;
    return (error as Error).message.replace(/^pattern \d+: /, '');
  }
}

/** HMAC-SHA256 under `key` of many values at once: their lowercase hex digests, concatenated in order. */
export function hmacSha256Hex(key: Buffer): (values: string[]) => string {
  const native = load();
  const handle = native.hmacKey(key);
  return (values) => native.hmacHex(handle, values);
}
