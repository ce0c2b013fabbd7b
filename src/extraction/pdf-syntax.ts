/** PDF syntax shared by the text extractor and the security handler. */

/** Reads a literal string `( … )` with escapes and balanced parentheses; returns raw bytes (latin1) and next index. */
export function readLiteralString(content: string, start: number): [string, number] {
  let depth = 0;
  let out = '';
  let i = start + 1;
  for (; i < content.length; i++) {
    const ch = content[i];
    if (ch === '\\') {
      const next = content[++i];
      if (next === undefined) break;
      const escapes: Record<string, string> = {
        n: '\n',
        r: '\r',
        t: '\t',
        b: '\b',
        f: '\f',
        '(': '(',
        ')': ')',
        '\\': '\\',
      };
      if (escapes[next] !== undefined) out += escapes[next];
      else if (/[0-7]/.test(next)) {
        let octal = next;
        while (octal.length < 3 && /[0-7]/.test(content[i + 1] ?? '')) octal += content[++i];
        out += String.fromCharCode(parseInt(octal, 8) & 0xff);
      } else if (next === '\r') {
        if (content[i + 1] === '\n') i++;
      } else if (next !== '\n') out += next;
    } else if (ch === '(') {
      depth++;
      out += ch;
    } else if (ch === ')') {
      if (depth === 0) return [out, i + 1];
      depth--;
      out += ch;
    } else out += ch;
  }
  return [out, i];
}
