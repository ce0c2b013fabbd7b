/**
 * Loader for the native candidate scanner (native/assay_scan.cc), built by `npm run build:native` (part of
 * `npm run setup`) against the system's RE2 (Debian `libre2-dev`).
 */
import { ConfigurationError } from '../core/errors';
import { loadAddon } from '../core/native-addon';

/** A compiled set of patterns. */
export interface NativeScanner {
  /**
   * Every position of `text` where one of the patterns has a match starting, as (pattern index, start)
   * pairs in ascending start order. A superset of the JavaScript regexes' match starts.
   */
  scan(text: string): Int32Array;
}

interface Binding {
  compile(patterns: string[]): object;
  scan(handle: object, text: string): Int32Array;
}

const load = (): Binding => loadAddon<Binding>('assay_scan');

/** Compiles patterns (RE2 syntax, flags inline); `owners[i]` names pattern i's detector in errors. */
export function compileScanner(patterns: string[], owners: string[]): NativeScanner {
  const native = load();
  let handle: object;
  try {
    handle = native.compile(patterns);
  } catch (error) {
    const message = (error as Error).message;
    const index = /^pattern (\d+): /.exec(message);
    const owner = index ? owners[Number(index[1])] : undefined;
    throw new ConfigurationError(
      owner ? `detector ${owner}: invalid pattern: ${message.slice(index![0].length)}` : message,
      owner ? { detector: owner } : {},
    );
  }
  return { scan: (text) => native.scan(handle, text) };
}

/** Why RE2 (as the scanner compiles it) rejects `source`, or undefined when it accepts it. */
export function patternError(source: string): string | undefined {
  try {
    load().compile([source]);
    return undefined;
  } catch (error) {
    if (error instanceof ConfigurationError) throw error;
    return (error as Error).message.replace(/^pattern \d+: /, '');
  }
}
