/**
 * RFC 5322 / MIME message parsing for EML: headers (RFC 2047 encoded words), multipart bodies, transfer
 * encodings (base64, quoted-printable) and charsets. Works on a whole message in memory (bounded by the
 * component size limit).
 */

import { decodeWindows1252 } from './text';

export interface MimePart {
  headers: Map<string, string>;
  contentType: string;
  params: Record<string, string>;
  disposition: string;
  dispositionParams: Record<string, string>;
  /** Decoded body bytes (leaf parts). */
  body: Buffer;
  children: MimePart[];
}

export interface ParsedMail {
  /** Header lines worth classifying, `Name: value`, decoded. */
  headerLines: string[];
  /** Readable body text (text/plain, or text/html converted by the caller) in order. */
  bodies: { contentType: string; charset: string; body: Buffer }[];
  attachments: { fileName: string; contentType: string; body: Buffer }[];
}

const SHOWN_HEADERS = ['from', 'sender', 'reply-to', 'to', 'cc', 'bcc', 'date', 'subject'];

function splitHeaderBody(data: Buffer): [string, Buffer] {
  const text = data.toString('latin1');
  const match = /\r?\n\r?\n/.exec(text);
  if (!match) return [text, Buffer.alloc(0)];
  return [text.slice(0, match.index), data.subarray(match.index + match[0].length)];
}

function parseHeaders(block: string): Map<string, string> {
  const headers = new Map<string, string>();
  const unfolded = block.replace(/\r?\n[ \t]+/g, ' ');
  for (const line of unfolded.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers.set(name, headers.has(name) ? `${headers.get(name)}, ${value}` : value);
  }
  return headers;
}

/** `text/plain; charset="utf-8"; name*=UTF-8''r%C3%A9sum%C3%A9.pdf` → value and parameters (RFC 2231 aware). */
export function parseHeaderValue(value: string): [string, Record<string, string>] {
  const [main, ...rest] = splitParams(value);
  const params: Record<string, string> = {};
  const continued: Record<string, { charset: string; parts: string[] }> = {};
  for (const param of rest) {
    const eq = param.indexOf('=');
    if (eq <= 0) continue;
    let key = param.slice(0, eq).trim().toLowerCase();
    let raw = param.slice(eq + 1).trim();
    if (raw.startsWith('"') && raw.endsWith('"')) raw = raw.slice(1, -1).replace(/\\(.)/g, '$1');
    const extended = /^([^*]+)(?:\*(\d+))?(\*)?$/.exec(key);
    if (extended && (extended[2] !== undefined || extended[3])) {
      key = extended[1];
      const entry = (continued[key] ??= { charset: 'utf-8', parts: [] });
      if (extended[3]) {
        const quoteParts = /^([^']*)'[^']*'(.*)$/.exec(raw);
        if (quoteParts && (extended[2] === undefined || extended[2] === '0')) {
          entry.charset = quoteParts[1] || 'utf-8';
          raw = quoteParts[2];
        }
        raw = percentDecode(raw, entry.charset);
      }
      entry.parts[Number(extended[2] ?? 0)] = raw;
    } else {
      params[key] = decodeEncodedWords(raw);
    }
  }
  for (const [key, entry] of Object.entries(continued)) params[key] = entry.parts.join('');
  return [main.trim().toLowerCase(), params];
}

function splitParams(value: string): string[] {
  const parts: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const ch = value[i];
    if (ch === '"' && value[i - 1] !== '\\') quoted = !quoted;
    if (ch === ';' && !quoted) {
      parts.push(current);
      current = '';
    } else current += ch;
  }
  parts.push(current);
  return parts;
}

function percentDecode(text: string, charset: string): string {
  const bytes = Buffer.from(
    text.replace(/%([0-9a-fA-F]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16))),
    'latin1',
  );
  return decodeCharset(bytes, charset);
}

export function decodeCharset(bytes: Buffer, charset: string): string {
  const label = (charset || 'utf-8').trim().toLowerCase();
  if (/^(us-ascii|ascii|iso-8859-1|iso8859-1|latin-?1|l1|windows-1252|cp1252|x-cp1252)$/.test(label)) {
    return decodeWindows1252(bytes);
  }
  try {
    return new TextDecoder(label).decode(bytes);
  } catch {
    // Unknown label: UTF-8 if valid, else Windows-1252.
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      return decodeWindows1252(bytes);
    }
  }
}

/** RFC 2047: `=?UTF-8?B?…?=` and `=?ISO-8859-1?Q?…?=`; adjacent encoded words join without the space. */
export function decodeEncodedWords(value: string): string {
  return value
    .replace(/(=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=)\s+(?==\?[^?\s]+\?[bBqQ]\?)/g, '$1')
    .replace(
      /=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=/g,
      (_whole, charset: string, encoding: string, text: string) => {
        const bytes =
          encoding.toUpperCase() === 'B'
            ? Buffer.from(text, 'base64')
            : Buffer.from(
                text
                  .replace(/_/g, ' ')
                  .replace(/=([0-9a-fA-F]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16))),
                'latin1',
              );
        return decodeCharset(bytes, charset.replace(/\*.*$/, ''));
      },
    );
}

export function decodeQuotedPrintable(body: Buffer): Buffer {
  const text = body.toString('latin1').replace(/=\r?\n/g, '');
  return Buffer.from(
    text.replace(/=([0-9a-fA-F]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16))),
    'latin1',
  );
}

function decodeTransfer(body: Buffer, encoding: string): Buffer {
  switch (encoding.trim().toLowerCase()) {
    case 'base64':
      return Buffer.from(body.toString('latin1').replace(/[^A-Za-z0-9+/=]/g, ''), 'base64');
    case 'quoted-printable':
      return decodeQuotedPrintable(body);
    default:
      return body;
  }
}

const MAX_MIME_DEPTH = 20;

export function parseMimePart(data: Buffer, depth = 0): MimePart {
  const [headerBlock, rawBody] = splitHeaderBody(data);
  const headers = parseHeaders(headerBlock);
  const [contentType, params] = parseHeaderValue(headers.get('content-type') ?? 'text/plain');
  const [disposition, dispositionParams] = parseHeaderValue(headers.get('content-disposition') ?? '');
  const part: MimePart = {
    headers,
    contentType,
    params,
    disposition,
    dispositionParams,
    body: Buffer.alloc(0),
    children: [],
  };
  if (contentType.startsWith('multipart/') && params.boundary && depth < MAX_MIME_DEPTH) {
    for (const child of splitMultipart(rawBody, params.boundary))
      part.children.push(parseMimePart(child, depth + 1));
  } else {
    part.body = decodeTransfer(rawBody, headers.get('content-transfer-encoding') ?? '');
  }
  return part;
}

function splitMultipart(body: Buffer, boundary: string): Buffer[] {
  const text = body.toString('latin1');
  const delimiter = `--${boundary}`;
  const parts: Buffer[] = [];
  let position = text.indexOf(delimiter);
  while (position !== -1) {
    let start = position + delimiter.length;
    if (text.startsWith('--', start)) break; // closing delimiter
    const lineEnd = text.indexOf('\n', start);
    if (lineEnd === -1) break;
    start = lineEnd + 1;
    const next = text.indexOf(`\n${delimiter}`, start);
    let end = next === -1 ? text.length : next;
    if (next !== -1 && text[end - 1] === '\r') end--;
    parts.push(body.subarray(start, end));
    position = next === -1 ? -1 : next + 1;
  }
  return parts;
}

function partFileName(part: MimePart): string | undefined {
  return part.dispositionParams.filename ?? part.params.name;
}

/** Parses a message: its shown headers, readable bodies and attachments (nested messages are attachments). */
export function parseMail(data: Buffer): ParsedMail {
  const root = parseMimePart(data);
  const mail: ParsedMail = { headerLines: [], bodies: [], attachments: [] };
  for (const name of SHOWN_HEADERS) {
    const value = root.headers.get(name);
    if (value)
      mail.headerLines.push(
        `${name.replace(/(^|-)[a-z]/g, (m) => m.toUpperCase())}: ${decodeEncodedWords(value)}`,
      );
  }
  let unnamed = 0;
  const walk = (part: MimePart): void => {
    if (part.contentType === 'multipart/alternative' && part.children.length > 0) {
      // One rendering is enough: plain text when present, otherwise the richest.
      const plain = part.children.find((child) => child.contentType === 'text/plain' && !isAttachment(child));
      walk(plain ?? part.children[part.children.length - 1]);
      return;
    }
    if (part.children.length > 0) {
      part.children.forEach(walk);
      return;
    }
    if (!isAttachment(part) && (part.contentType === 'text/plain' || part.contentType === 'text/html')) {
      mail.bodies.push({
        contentType: part.contentType,
        charset: part.params.charset ?? '',
        body: part.body,
      });
      return;
    }
    if (part.body.length === 0 && part.contentType.startsWith('multipart/')) return;
    const fileName =
      partFileName(part) ??
      (part.contentType === 'message/rfc822'
        ? `message-${++unnamed}.eml`
        : `part-${++unnamed}${extensionFor(part.contentType)}`);
    mail.attachments.push({
      fileName: fileName.replace(/[/\\]/g, '_'),
      contentType: part.contentType,
      body: part.body,
    });
  };
  walk(root);
  return mail;
}

function isAttachment(part: MimePart): boolean {
  return (
    part.disposition === 'attachment' || (partFileName(part) !== undefined && part.disposition !== 'inline')
  );
}

function extensionFor(contentType: string): string {
  const known: Record<string, string> = {
    'text/plain': '.txt',
    'text/html': '.html',
    'text/csv': '.csv',
    'application/pdf': '.pdf',
    'application/zip': '.zip',
    'application/json': '.json',
    'message/rfc822': '.eml',
    'text/calendar': '.ics',
  };
  return known[contentType] ?? '.bin';
}
