/**
 * Parser for PostgreSQL `COPY … TO STDOUT` text format (the default: tab-separated fields, one
 * row per line, `\N` for NULL, backslash escapes), built for throughput: each chunk is decoded to
 * one string up to its last complete row, fields are found with native `indexOf` and cut with
 * `slice`, and the field array is reused from row to row (a row builder copies it out). Escapes
 * are rare, so only a field that holds a backslash takes the slow path.
 */

/** A parsed field: the text (unescaped), or null for SQL NULL. */
export type CopyField = string | null;

const COPY_ESCAPES: Record<string, string> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };

/**
 * Undoes COPY text escaping. COPY TO emits `\\`, `\b`, `\f`, `\n`, `\r`, `\t`, `\v` (never octal or
 * hex forms); any other escaped character stands for itself.
 */
export function unescapeCopyField(field: string): string {
  return field.replace(/\\(.)/gs, (_m, ch: string) => COPY_ESCAPES[ch] ?? ch);
}

const COPY_FIELD_ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/**
 * COPY text for one field: `\N` for null; backslash, tab, newline and carriage return escaped; NUL dropped
 * (PostgreSQL text cannot hold it).
 */
export function escapeCopyField(value: string | number | null): string {
  if (value === null) return '\\N';
  if (typeof value === 'number') return String(value);
  const text = value.includes('\u0000') ? value.replaceAll('\u0000', '') : value;
  return /[\\\t\n\r]/.test(text) ? text.replace(/[\\\t\n\r]/g, (ch) => COPY_FIELD_ESCAPES[ch]) : text;
}

/**
 * Builds COPY text (`COPY … FROM STDIN`) field by field: no row arrays in between, and a field escaped once
 * can be written again as is (`escaped`), which matters for the key columns repeated on every row.
 */
export class CopyTextWriter {
  private text = '';
  private rowStarted = false;
  /** Complete rows written. */
  rows = 0;

  /** Appends one field, escaped. */
  field(value: string | number | null | undefined): this {
    return this.escaped(escapeCopyField(value ?? null));
  }

  /** Appends one field already escaped with `escapeCopyField`. */
  escaped(text: string): this {
    this.text += this.rowStarted ? `\t${text}` : text;
    this.rowStarted = true;
    return this;
  }

  endRow(): void {
    this.text += '\n';
    this.rowStarted = false;
    this.rows++;
  }

  toString(): string {
    return this.text;
  }
}

const NEWLINE = 10;
const LETTER_N = 78;

/**
 * Splits COPY text into rows of `columnCount` fields. `push` takes the raw bytes in any chunking
 * (rows and multi-byte characters may span chunks) and appends `build(fields)` for every complete
 * row to `out`; `build` must not keep the `fields` array, which is reused. `finish` checks that no
 * partial row is left.
 */
export class CopyTextParser<T> {
  private readonly fields: CopyField[];
  /** Bytes after the last newline seen: a row continued in later chunks (kept unjoined until it ends). */
  private pending: Buffer[] = [];

  constructor(
    private readonly columnCount: number,
    private readonly build: (fields: CopyField[]) => T,
  ) {
    this.fields = new Array<CopyField>(columnCount).fill(null);
  }

  push(chunk: Buffer, out: T[]): void {
    // A newline byte never occurs inside a UTF-8 sequence: decoding up to it never splits a character.
    const lastNewline = chunk.lastIndexOf(NEWLINE);
    if (lastNewline === -1) {
      if (chunk.length > 0) this.pending.push(chunk);
      return;
    }
    let bytes = chunk;
    let end = lastNewline + 1;
    if (this.pending.length > 0) {
      this.pending.push(chunk);
      bytes = Buffer.concat(this.pending);
      end += bytes.length - chunk.length;
      this.pending = [];
    }
    if (end < bytes.length) this.pending.push(bytes.subarray(end));
    this.parseLines(bytes.toString('utf8', 0, end), out);
  }

  /** Throws when the stream ended inside a row. */
  finish(): void {
    if (this.pending.length > 0) {
      const bytes = this.pending.reduce((sum, b) => sum + b.length, 0);
      throw new Error(`COPY data ended inside a row (${bytes} bytes without a newline)`);
    }
  }

  /** `text` holds whole lines only (it ends with a newline). */
  private parseLines(text: string, out: T[]): void {
    const fields = this.fields;
    const lastColumn = this.columnCount - 1;
    const end = text.length;
    // Position of the next backslash at or after the current field (end: none left).
    let backslash = text.indexOf('\\');
    if (backslash === -1) backslash = end;
    let pos = 0;
    if (lastColumn < 0) {
      // A table without columns: one empty line per row.
      for (; pos < end; pos = text.indexOf('\n', pos) + 1) out.push(this.build(fields));
      return;
    }
    while (pos < end) {
      const eol = text.indexOf('\n', pos);
      for (let i = 0; i <= lastColumn; i++) {
        let stop: number;
        if (i < lastColumn) {
          stop = text.indexOf('\t', pos);
          if (stop === -1 || stop > eol) throw this.fieldCountError(i + 1);
        } else {
          stop = eol;
        }
        if (backslash < stop) {
          fields[i] =
            stop - pos === 2 && backslash === pos && text.charCodeAt(pos + 1) === LETTER_N
              ? null
              : unescapeCopyField(text.slice(pos, stop));
          backslash = text.indexOf('\\', stop);
          if (backslash === -1) backslash = end;
        } else {
          fields[i] = text.slice(pos, stop);
        }
        pos = stop + 1;
      }
      out.push(this.build(fields));
    }
  }

  private fieldCountError(found: number): Error {
    return new Error(`COPY row has ${found} fields, expected ${this.columnCount}`);
  }
}
