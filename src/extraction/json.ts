/**
 * Streaming JSON / NDJSON flattener: turns a sequence of top-level JSON values into `key.path: value` lines
 * (strings and numbers; booleans and null carry no data and are dropped), so the classifier sees each value with
 * its key name. Numbers keep their source spelling (no precision loss on long card numbers).
 * Input that is not JSON is passed through as raw text up to the next newline, then parsing resumes, which is
 * exactly right for NDJSON with a bad line and keeps everything visible for anything else.
 */
import { unsliced } from '../core/strings';

interface Frame {
  kind: 'object' | 'array';
  /** Path of this container. */
  path: string;
  key: string | undefined;
  index: number;
}

type State =
  | 'value' // expecting a value
  | 'keyOrEnd' // after '{'
  | 'key' // after ','
  | 'colon'
  | 'commaOrEnd'
  | 'valueOrEnd' // after '['
  | 'string'
  | 'literal' // number, true, false, null
  | 'skipLine'; // resynchronising after a syntax error

const MAX_LITERAL = 4096;

/** Characters that can continue a number or a true/false/null literal. */
function isLiteralChar(code: number): boolean {
  return (
    (code >= 0x30 && code <= 0x39) || // 0-9
    (code >= 0x61 && code <= 0x7a) || // a-z
    (code >= 0x41 && code <= 0x5a) || // A-Z
    code === 0x2e || // .
    code === 0x2b || // +
    code === 0x2d // -
  );
}

/** Key spellings for paths (`a.b`, `a."home address"`), cached: records repeat the same keys. */
const keyCache = new Map<string, string>();

function joinKey(path: string, key: string): string {
  let safe = keyCache.get(key);
  if (safe === undefined) {
    // The cache lives as long as the process: a key cut from a chunk of text must not hold that chunk.
    const owned = unsliced(key);
    safe = /^[A-Za-z_$][\w$-]*$/.test(owned) ? owned : JSON.stringify(owned);
    if (keyCache.size < 10_000) keyCache.set(owned, safe);
  }
  return path ? `${path}.${safe}` : safe;
}

export class JsonFlattener {
  private state: State = 'value';
  private stack: Frame[] = [];
  private buffer = '';
  private stringIsKey = false;
  private escape = false;
  private unicodeDigits = -1;
  private unicode = '';
  private out: string[] = [];
  /** Records (top-level values) completed so far. */
  records = 0;

  /** Feeds text; returns the flattened lines it completed (each ending with '\n'). */
  push(text: string): string {
    for (let i = 0; i < text.length; i++) {
      const ch = text[i];
      switch (this.state) {
        case 'string':
          i = this.inString(text, i);
          break;
        case 'literal': {
          let j = i;
          while (j < text.length && isLiteralChar(text.charCodeAt(j))) j++;
          if (this.buffer.length + (j - i) > MAX_LITERAL) {
            i = this.fail(text, i);
            break;
          }
          this.buffer += text.slice(i, j);
          if (j === text.length) {
            i = j;
            break;
          }
          if (!this.endLiteral()) {
            i = this.fail(text, j);
            break;
          }
          i = j - 1; // re-read text[j] in the new state
          break;
        }
        case 'skipLine': {
          const newline = text.indexOf('\n', i);
          if (newline === -1) {
            this.out.push(text.slice(i));
            i = text.length;
          } else {
            this.out.push(text.slice(i, newline + 1));
            i = newline;
            this.reset();
          }
          break;
        }
        default:
          if (ch === ' ' || ch === '\n' || ch === '\r' || ch === '\t' || ch === '\uFEFF') break;
          if (!this.structural(ch)) i = this.fail(text, i);
      }
    }
    const result = this.out.join('');
    this.out = [];
    return result;
  }

  /** Ends the input: flushes a trailing literal or a truncated line. */
  end(): string {
    if (this.state === 'literal') this.endLiteral();
    else if (this.state === 'string' && this.buffer) this.out.push(`${this.buffer}\n`);
    const result = this.out.join('');
    this.out = [];
    return result;
  }

  private structural(ch: string): boolean {
    const state = this.state;
    if (state === 'colon') {
      if (ch !== ':') return false;
      this.state = 'value';
      return true;
    }
    if (state === 'commaOrEnd') {
      const top = this.stack[this.stack.length - 1];
      if (ch === ',') {
        if (top.kind === 'array') top.index++;
        this.state = top.kind === 'object' ? 'key' : 'value';
        return true;
      }
      if ((ch === '}' && top.kind === 'object') || (ch === ']' && top.kind === 'array')) {
        this.closeContainer();
        return true;
      }
      return false;
    }
    if (state === 'keyOrEnd' || state === 'key') {
      if (ch === '"') {
        this.startString(true);
        return true;
      }
      if (ch === '}' && state === 'keyOrEnd') {
        this.closeContainer();
        return true;
      }
      return false;
    }
    // 'value' or 'valueOrEnd'
    if (ch === ']' && state === 'valueOrEnd') {
      this.closeContainer();
      return true;
    }
    if (ch === '{' || ch === '[') {
      const path = this.valuePath();
      this.stack.push({ kind: ch === '{' ? 'object' : 'array', path, key: undefined, index: 0 });
      this.state = ch === '{' ? 'keyOrEnd' : 'valueOrEnd';
      return true;
    }
    if (ch === '"') {
      this.startString(false);
      return true;
    }
    const code = ch.charCodeAt(0);
    if (code === 0x2d || (code >= 0x30 && code <= 0x39) || ch === 't' || ch === 'f' || ch === 'n') {
      this.state = 'literal';
      this.buffer = ch;
      return true;
    }
    return false;
  }

  private startString(isKey: boolean): void {
    this.state = 'string';
    this.stringIsKey = isKey;
    this.buffer = '';
    this.escape = false;
    this.unicodeDigits = -1;
  }

  /** Consumes string characters from text[i]; returns the index of the last character consumed. */
  private inString(text: string, start: number): number {
    let i = start;
    // Fast path: copy plain runs in one slice.
    if (!this.escape && this.unicodeDigits < 0) {
      let j = i;
      while (j < text.length) {
        const c = text.charCodeAt(j);
        if (c === 0x22 || c === 0x5c) break;
        j++;
      }
      if (j > i) {
        this.buffer += text.slice(i, j);
        if (j === text.length) return j - 1;
        i = j;
      }
    }
    const ch = text[i];
    if (this.unicodeDigits >= 0) {
      this.unicode += ch;
      if (++this.unicodeDigits === 4) {
        const code = parseInt(this.unicode, 16);
        this.buffer += Number.isNaN(code) ? '\uFFFD' : String.fromCharCode(code);
        this.unicodeDigits = -1;
      }
    } else if (this.escape) {
      this.escape = false;
      if (ch === 'u') {
        this.unicodeDigits = 0;
        this.unicode = '';
      } else {
        this.buffer += ({ n: '\n', t: '\t', r: '\r', b: '\b', f: '\f' } as Record<string, string>)[ch] ?? ch;
      }
    } else if (ch === '\\') {
      this.escape = true;
    } else if (ch === '"') {
      this.endString();
    } else {
      this.buffer += ch;
    }
    return i;
  }

  private endString(): void {
    const value = this.buffer;
    this.buffer = '';
    if (this.stringIsKey) {
      this.stack[this.stack.length - 1].key = value;
      this.state = 'colon';
    } else {
      this.emit(value);
      this.afterValue();
    }
  }

  private endLiteral(): boolean {
    const literal = this.buffer;
    this.buffer = '';
    if (literal === 'true' || literal === 'false' || literal === 'null') {
      this.afterValue();
      return true;
    }
    if (!/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(literal)) return false;
    this.emit(literal);
    this.afterValue();
    return true;
  }

  private emit(value: string): void {
    const path = this.valuePath();
    this.out.push(path ? `${path}: ${value}\n` : `${value}\n`);
  }

  private valuePath(): string {
    const top = this.stack[this.stack.length - 1];
    if (!top) return '';
    return top.kind === 'object' ? joinKey(top.path, top.key ?? '') : `${top.path}[${top.index}]`;
  }

  private closeContainer(): void {
    this.stack.pop();
    this.afterValue();
  }

  private afterValue(): void {
    if (this.stack.length === 0) {
      this.records++;
      this.state = 'value';
    } else {
      this.state = 'commaOrEnd';
    }
  }

  /** Syntax error at text[i]: pass the rest of the line through raw and resume at the next line. */
  private fail(text: string, i: number): number {
    this.reset();
    this.state = 'skipLine';
    // Start the raw pass-through at the beginning of the current line within this chunk.
    const lineStart = text.lastIndexOf('\n', i) + 1;
    const newline = text.indexOf('\n', i);
    if (newline === -1) {
      this.out.push(text.slice(lineStart));
      return text.length;
    }
    this.out.push(text.slice(lineStart, newline + 1));
    this.reset();
    return newline;
  }

  private reset(): void {
    this.state = 'value';
    this.stack = [];
    this.buffer = '';
    this.escape = false;
    this.unicodeDigits = -1;
  }
}
