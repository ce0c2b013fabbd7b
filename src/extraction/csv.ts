/** Streaming CSV/TSV parser (RFC 4180 quoting, embedded newlines, CRLF) with delimiter sniffing. */

const CANDIDATE_DELIMITERS = [',', ';', '\t', '|'];

/**
 * Picks the delimiter from a sample of the text: the candidate that appears the same non-zero number of times
 * (outside quotes) on the most sample lines, ties broken by the higher count. Comma when nothing fits.
 */
export function sniffDelimiter(sample: string): string {
  const lines: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < sample.length && lines.length < 20; i++) {
    const ch = sample[i];
    if (ch === '"') quoted = !quoted;
    if (!quoted && (ch === '\n' || ch === '\r')) {
      if (current) lines.push(current);
      current = '';
    } else if (!quoted) current += ch;
  }
  // A cut-off last line is only used when it is the only one.
  if (current && lines.length === 0) lines.push(current);
  let best = ',';
  let bestScore = -1;
  for (const delimiter of CANDIDATE_DELIMITERS) {
    const counts = lines.map((line) => line.split(delimiter).length - 1);
    const first = counts[0] ?? 0;
    if (first === 0) continue;
    const consistent = counts.filter((count) => count === first).length;
    const score = consistent * 1000 + first;
    if (score > bestScore) {
      best = delimiter;
      bestScore = score;
    }
  }
  return best;
}

/** Longest quoted field (chars) before the quote is taken as data: bounds memory on malformed files. */
const MAX_QUOTED_FIELD = 16 * 1024 * 1024;

/** Push-based parser: feed text chunks, get complete records back. */
export class CsvParser {
  private field = '';
  private record: string[] = [];
  private quoted = false;
  /** Inside quotes, a quote was just seen: either an escaped quote or the end of the quoted part. */
  private quotePending = false;
  private afterCr = false;
  private fieldStarted = false;

  constructor(private readonly delimiter: string) {}

  push(text: string): string[][] {
    const records: string[][] = [];
    const delimiter = this.delimiter;
    let field = this.field;
    let i = 0;
    const length = text.length;
    while (i < length) {
      if (this.afterCr) {
        this.afterCr = false;
        if (text[i] === '\n') {
          i++;
          continue;
        }
      }
      if (this.quoted) {
        if (this.quotePending) {
          this.quotePending = false;
          if (text[i] === '"') {
            field += '"';
            i++;
            continue;
          }
          this.quoted = false;
          continue; // the character after the closing quote is read unquoted
        }
        // Copy the run up to the next quote in one slice.
        const quote = text.indexOf('"', i);
        if (quote === -1) {
          field += text.slice(i);
          i = length;
        } else {
          field += text.slice(i, quote);
          this.quotePending = true;
          i = quote + 1;
        }
        // A stray quote must not swallow the rest of the file into one field.
        if (field.length > MAX_QUOTED_FIELD && !this.quotePending) this.quoted = false;
        continue;
      }
      // Unquoted: copy the run up to the next special character in one slice.
      let j = i;
      while (j < length) {
        const ch = text[j];
        if (ch === delimiter || ch === '\n' || ch === '\r' || ch === '"') break;
        j++;
      }
      if (j > i) {
        field += text.slice(i, j);
        this.fieldStarted = true;
        i = j;
        if (i === length) break;
      }
      const ch = text[i];
      i++;
      if (ch === delimiter) {
        this.record.push(field);
        field = '';
        this.fieldStarted = true;
      } else if (ch === '\n' || ch === '\r') {
        if (ch === '\r') this.afterCr = true;
        this.record.push(field);
        field = '';
        records.push(this.record);
        this.record = [];
        this.fieldStarted = false;
      } else if (field === '') {
        this.quoted = true; // a quote opening a field
        this.fieldStarted = true;
      } else {
        field += ch; // a stray quote inside an unquoted field is data
      }
    }
    this.field = field;
    return records;
  }

  /** The last record when the text does not end with a newline. */
  end(): string[][] {
    if (this.quoted && this.quotePending) this.quoted = false;
    if (this.field === '' && this.record.length === 0 && !this.fieldStarted) return [];
    this.record.push(this.field);
    const last = this.record;
    this.record = [];
    this.field = '';
    this.fieldStarted = false;
    return [last];
  }
}

/** True for records made of one empty field (blank lines), which are skipped. */
export function isBlankRecord(record: string[]): boolean {
  return record.length === 1 && record[0] === '';
}
