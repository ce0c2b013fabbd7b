/** Fixture builders for extraction tests: a minimal ZIP writer, a tiny PDF writer, tar/gzip, office documents. */
import zlib from 'node:zlib';
import tar from 'tar-stream';
import type { ContentComponent } from '../../../src/core/models';

export interface ZipInput {
  name: string;
  data: Buffer | string;
  /** Default 'deflate'. */
  method?: 'store' | 'deflate';
}

/** Builds a ZIP archive (no zip64, UTF-8 names). */
export function buildZip(entries: ZipInput[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const entry of entries) {
    const data = typeof entry.data === 'string' ? Buffer.from(entry.data, 'utf8') : entry.data;
    const deflate = (entry.method ?? 'deflate') === 'deflate';
    const stored = deflate ? zlib.deflateRawSync(data) : data;
    const name = Buffer.from(entry.name, 'utf8');
    const crc = zlib.crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x0800, 6);
    local.writeUInt16LE(deflate ? 8 : 0, 8);
    local.writeUInt16LE(0, 10);
    local.writeUInt16LE(0x21, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(stored.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(deflate ? 8 : 0, 10);
    central.writeUInt16LE(0, 12);
    central.writeUInt16LE(0x21, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(stored.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, stored);
    centrals.push(central, name);
    offset += local.length + name.length + stored.length;
  }
  const centralDirectory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(centralDirectory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, centralDirectory, end]);
}

export async function buildTar(entries: { name: string; data: Buffer | string }[]): Promise<Buffer> {
  const pack = tar.pack();
  for (const entry of entries) {
    pack.entry({ name: entry.name }, typeof entry.data === 'string' ? Buffer.from(entry.data) : entry.data);
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of pack) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export const gzip = (data: Buffer | string): Buffer => zlib.gzipSync(data);

function pdfString(text: string): string {
  return `(${text.replace(/[\\()]/g, (c) => `\\${c}`).replace(/€/g, '\x80')})`;
}

/** How a PDF stream is stored: its /Filter (and /DecodeParms) entries and the encoder that matches them. */
export interface PdfStreamEncoding {
  entries: string;
  encode: (data: Buffer) => Buffer;
}

export const pdfEncodings = {
  none: { entries: '', encode: (data: Buffer) => data },
  flate: { entries: '/Filter /FlateDecode', encode: (data: Buffer) => zlib.deflateSync(data) },
  ascii85Flate: {
    entries: '/Filter [/ASCII85Decode /FlateDecode]',
    encode: (data: Buffer) => ascii85Encode(zlib.deflateSync(data)),
  },
  lzw: (earlyChange: 0 | 1): PdfStreamEncoding => ({
    entries: `/Filter /LZWDecode${earlyChange === 0 ? ' /DecodeParms << /EarlyChange 0 >>' : ''}`,
    encode: (data: Buffer) => lzwEncode(data, earlyChange),
  }),
} satisfies Record<string, PdfStreamEncoding | ((earlyChange: 0 | 1) => PdfStreamEncoding)>;

/**
 * Builds a PDF with one page per entry of `pages`, each line shown with Tj (or TJ when `kerned`), content
 * streams FlateDecoded unless `compress` is false, or stored with `encodings[page]` when given.
 */
export function buildPdf(
  pages: string[][],
  options: { compress?: boolean; kerned?: boolean; encodings?: PdfStreamEncoding[] } = {},
): Buffer {
  const compress = options.compress ?? true;
  const objects: Buffer[] = [];
  const pageIds = pages.map((_p, i) => 4 + i * 2);
  objects[1] = Buffer.from('<< /Type /Catalog /Pages 2 0 R >>');
  objects[2] = Buffer.from(
    `<< /Type /Pages /Kids [${pageIds.map((id) => `${id} 0 R`).join(' ')}] /Count ${pages.length} >>`,
  );
  objects[3] = Buffer.from(
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>',
  );
  pages.forEach((lines, i) => {
    const ops = ['BT', '/F1 12 Tf', '14 TL', '72 720 Td'];
    lines.forEach((line, j) => {
      if (j > 0) ops.push('T*');
      if (options.kerned) {
        const words = line.split(' ').map(pdfString);
        ops.push(`[${words.join(' -250 ')}] TJ`);
      } else ops.push(`${pdfString(line)} Tj`);
    });
    ops.push('ET');
    const content = Buffer.from(ops.join('\n'), 'latin1');
    const encoding = options.encodings?.[i] ?? (compress ? pdfEncodings.flate : pdfEncodings.none);
    const body = encoding.encode(content);
    objects[pageIds[i]] = Buffer.from(
      `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> /Contents ${pageIds[i] + 1} 0 R >>`,
    );
    objects[pageIds[i] + 1] = Buffer.concat([
      Buffer.from(`<< /Length ${body.length}${encoding.entries ? ` ${encoding.entries}` : ''} >>\nstream\n`),
      body,
      Buffer.from('\nendstream'),
    ]);
  });
  const parts: Buffer[] = [Buffer.from('%PDF-1.4\n%\xe2\xe3\xcf\xd3\n', 'latin1')];
  let length = parts[0].length;
  const offsets: number[] = [];
  for (let id = 1; id < objects.length; id++) {
    offsets[id] = length;
    const object = Buffer.concat([Buffer.from(`${id} 0 obj\n`), objects[id], Buffer.from('\nendobj\n')]);
    parts.push(object);
    length += object.length;
  }
  const xref = [`xref\n0 ${objects.length}\n0000000000 65535 f \n`];
  for (let id = 1; id < objects.length; id++)
    xref.push(`${String(offsets[id]).padStart(10, '0')} 00000 n \n`);
  xref.push(`trailer\n<< /Size ${objects.length} /Root 1 0 R >>\nstartxref\n${length}\n%%EOF\n`);
  parts.push(Buffer.from(xref.join('')));
  return Buffer.concat(parts);
}

/** One indirect object for {@link writePdf}. */
export interface PdfObjectSpec {
  id: number;
  /** The object's value; for a stream, its dictionary without /Length (the writer adds it). */
  value: string;
  /** Stream data as stored (already encoded). */
  stream?: Buffer;
  /** For an object stream: ids of the objects it holds, in header order (type 2 cross-reference entries). */
  holds?: number[];
}

/**
 * Packs dictionary-only objects into an object stream (PDF 32000-1 §7.5.7): a header of `objnum offset` pairs,
 * the bodies from /First on, FlateDecoded.
 */
export function packObjects(id: number, objects: { id: number; value: string }[]): PdfObjectSpec {
  let bodies = '';
  const pairs: string[] = [];
  for (const object of objects) {
    pairs.push(`${object.id} ${Buffer.byteLength(bodies, 'latin1')}`);
    bodies += `${object.value}\n`;
  }
  const header = `${pairs.join(' ')}\n`;
  return {
    id,
    value: `<< /Type /ObjStm /N ${objects.length} /First ${header.length} /Filter /FlateDecode >>`,
    stream: zlib.deflateSync(Buffer.from(header + bodies, 'latin1')),
    holds: objects.map((object) => object.id),
  };
}

/**
 * Writes a PDF 1.5 file of one or more revisions (the later ones incremental updates), each closed by a
 * cross-reference stream (§7.5.8) that lists its objects, the ones packed in its object streams as type 2 entries.
 * The cross-reference streams take the ids after the highest id of `revisions`; the root is object 1.
 */
export function writePdf(revisions: PdfObjectSpec[][]): Buffer {
  const parts: Buffer[] = [Buffer.from('%PDF-1.5\n%\xe2\xe3\xcf\xd3\n', 'latin1')];
  let length = parts[0].length;
  const append = (part: Buffer) => {
    parts.push(part);
    length += part.length;
  };
  let nextId = Math.max(...revisions.flat().flatMap((object) => [object.id, ...(object.holds ?? [])])) + 1;
  let previousXref: number | undefined;
  revisions.forEach((objects, revision) => {
    /** Cross-reference entry fields (W [1 4 2]) by object id. */
    const entries = new Map<number, [number, number, number]>();
    if (revision === 0) entries.set(0, [0, 0, 65535]);
    for (const object of objects) {
      entries.set(object.id, [1, length, 0]);
      object.holds?.forEach((held, index) => entries.set(held, [2, object.id, index]));
      append(indirectObject(object));
    }
    const xrefId = nextId++;
    entries.set(xrefId, [1, length, 0]);
    const ids = [...entries.keys()].sort((a, b) => a - b);
    const table = Buffer.alloc(ids.length * 7);
    ids.forEach((id, i) => {
      const [type, field2, field3] = entries.get(id) ?? [0, 0, 0];
      table.writeUInt8(type, i * 7);
      table.writeUInt32BE(field2, i * 7 + 1);
      table.writeUInt16BE(field3, i * 7 + 5);
    });
    const xrefAt = length;
    append(
      indirectObject({
        id: xrefId,
        value: `<< /Type /XRef /Size ${xrefId + 1} /W [1 4 2] /Index [${ids.map((id) => `${id} 1`).join(' ')}] /Root 1 0 R${previousXref === undefined ? '' : ` /Prev ${previousXref}`} >>`,
        stream: table,
      }),
    );
    append(Buffer.from(`startxref\n${xrefAt}\n%%EOF\n`));
    previousXref = xrefAt;
  });
  return Buffer.concat(parts);
}

/**
 * A font program holding only what text extraction reads: the table directory and a `cmap` table (OpenType spec)
 * mapping each code point to its glyph. Format 4 as one segment per code point (idDelta), or as one segment over
 * the whole range through glyphIdArray; format 12 as one group per code point.
 */
export function trueTypeWithCmap(
  glyphs: Map<number, number>,
  layout: 'format4-delta' | 'format4-array' | 'format12',
): Buffer {
  const codes = [...glyphs.keys()].sort((a, b) => a - b);
  let subtable: Buffer;
  if (layout === 'format12') {
    subtable = Buffer.alloc(16 + codes.length * 12);
    subtable.writeUInt16BE(12, 0);
    subtable.writeUInt32BE(subtable.length, 4);
    subtable.writeUInt32BE(codes.length, 12);
    codes.forEach((code, i) => {
      subtable.writeUInt32BE(code, 16 + i * 12);
      subtable.writeUInt32BE(code, 20 + i * 12);
      subtable.writeUInt32BE(glyphs.get(code)!, 24 + i * 12);
    });
  } else {
    // Segments [start, end, idDelta, glyph ids or undefined], then the required 0xFFFF segment.
    const segments: Array<[number, number, number, number[] | undefined]> =
      layout === 'format4-delta'
        ? codes.map((code) => [code, code, (glyphs.get(code)! - code) & 0xffff, undefined])
        : [
            [
              codes[0],
              codes[codes.length - 1],
              0,
              Array.from(
                { length: codes[codes.length - 1] - codes[0] + 1 },
                (_, i) => glyphs.get(codes[0] + i) ?? 0,
              ),
            ],
          ];
    segments.push([0xffff, 0xffff, 1, undefined]);
    const n = segments.length;
    const arrays = segments.flatMap(([, , , ids]) => ids ?? []);
    subtable = Buffer.alloc(16 + n * 8 + arrays.length * 2);
    subtable.writeUInt16BE(4, 0);
    subtable.writeUInt16BE(subtable.length, 2);
    subtable.writeUInt16BE(n * 2, 6);
    let arrayIndex = 0;
    segments.forEach(([start, end, delta, ids], i) => {
      subtable.writeUInt16BE(end, 14 + i * 2);
      subtable.writeUInt16BE(start, 16 + n * 2 + i * 2);
      subtable.writeUInt16BE(delta, 16 + n * 4 + i * 2);
      const rangeOffsetAt = 16 + n * 6 + i * 2;
      if (ids) {
        subtable.writeUInt16BE(16 + n * 8 + arrayIndex * 2 - rangeOffsetAt, rangeOffsetAt);
        ids.forEach((id, k) => subtable.writeUInt16BE(id, 16 + n * 8 + (arrayIndex + k) * 2));
        arrayIndex += ids.length;
      }
    });
  }
  const cmap = Buffer.concat([
    Buffer.from([0, 0, 0, 1, 0, 3, 0, layout === 'format12' ? 10 : 1, 0, 0, 0, 12]),
    subtable,
  ]);
  const directory = Buffer.alloc(12 + 16);
  directory.writeUInt32BE(0x00010000, 0);
  directory.writeUInt16BE(1, 4);
  directory.write('cmap', 12, 'latin1');
  directory.writeUInt32BE(directory.length, 20);
  directory.writeUInt32BE(cmap.length, 24);
  return Buffer.concat([directory, cmap]);
}

function indirectObject(object: PdfObjectSpec): Buffer {
  if (!object.stream) return Buffer.from(`${object.id} 0 obj\n${object.value}\nendobj\n`, 'latin1');
  const dictionary = object.value.replace(/>>\s*$/, `/Length ${object.stream.length} >>`);
  return Buffer.concat([
    Buffer.from(`${object.id} 0 obj\n${dictionary}\nstream\n`, 'latin1'),
    object.stream,
    Buffer.from('\nendstream\nendobj\n'),
  ]);
}

/** ASCII85Encode (§7.4.3): 'z' for four zero bytes, a short last group, lines of 72, '~>' at the end. */
export function ascii85Encode(data: Buffer): Buffer {
  let out = '';
  for (let i = 0; i < data.length; i += 4) {
    const group = Buffer.alloc(4);
    data.copy(group, 0, i, i + 4);
    const count = Math.min(4, data.length - i);
    let value = group.readUInt32BE(0);
    if (count === 4 && value === 0) {
      out += 'z';
      continue;
    }
    const digits: string[] = [];
    for (let d = 0; d < 5; d++) {
      digits.unshift(String.fromCharCode(0x21 + (value % 85)));
      value = Math.floor(value / 85);
    }
    out += digits.slice(0, count + 1).join('');
  }
  return Buffer.from(`${out.replace(/.{72}/g, '$&\n')}~>`, 'latin1');
}

/**
 * LZWEncode as PDF writers do it (§7.4.4): a clear code first and whenever the table fills, 9- to 12-bit codes
 * most significant bit first, the end code last. Code widths follow the decoder's table, which `earlyChange` 1
 * widens one entry early.
 */
export function lzwEncode(data: Buffer, earlyChange: 0 | 1): Buffer {
  const clear = 256;
  const end = 257;
  const bytes: number[] = [];
  let bits = 0;
  let bitCount = 0;
  /** The decoder's next table entry, one behind ours: it defines an entry on each code after the first. */
  let decoderNext = 258;
  let decoderHasPrevious = false;
  const emit = (code: number) => {
    let width = 9;
    while (width < 12 && decoderNext + earlyChange >= 1 << width) width++;
    bits = (bits << width) | code;
    bitCount += width;
    while (bitCount >= 8) {
      bitCount -= 8;
      bytes.push((bits >>> bitCount) & 0xff);
    }
    bits &= (1 << bitCount) - 1;
    if (code === clear) {
      decoderNext = 258;
      decoderHasPrevious = false;
    } else if (code !== end) {
      if (decoderHasPrevious && decoderNext < 4096) decoderNext++;
      decoderHasPrevious = true;
    }
  };
  /** Our table: key prefix code * 256 + next byte. */
  let table = new Map<number, number>();
  let nextCode = 258;
  emit(clear);
  let current = -1;
  for (const byte of data) {
    if (current === -1) {
      current = byte;
      continue;
    }
    const known = table.get(current * 256 + byte);
    if (known !== undefined) {
      current = known;
      continue;
    }
    emit(current);
    table.set(current * 256 + byte, nextCode++);
    if (nextCode === 4096) {
      emit(clear);
      table = new Map();
      nextCode = 258;
    }
    current = byte;
  }
  if (current !== -1) emit(current);
  emit(end);
  if (bitCount > 0) bytes.push((bits << (8 - bitCount)) & 0xff);
  return Buffer.from(bytes);
}

const CONTENT_TYPES =
  '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>';

export function buildDocx(paragraphs: string[], extras: { header?: string } = {}): Buffer {
  const body = paragraphs
    .map((p) => {
      const [first, ...rest] = p.split('\t');
      const runs = [`<w:r><w:t xml:space="preserve">${escapeXml(first)}</w:t></w:r>`];
      for (const part of rest) runs.push(`<w:r><w:tab/><w:t>${escapeXml(part)}</w:t></w:r>`);
      return `<w:p><w:pPr><w:tabs><w:tab w:val="left" w:pos="720"/></w:tabs></w:pPr>${runs.join('')}</w:p>`;
    })
    .join('');
  const entries: ZipInput[] = [
    { name: '[Content_Types].xml', data: CONTENT_TYPES },
    {
      name: 'word/document.xml',
      data: `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>${body}<w:p><w:r><w:instrText> PAGE </w:instrText></w:r></w:p></w:body></w:document>`,
    },
  ];
  if (extras.header) {
    entries.push({
      name: 'word/header1.xml',
      data: `<w:hdr xmlns:w="x"><w:p><w:r><w:t>${escapeXml(extras.header)}</w:t></w:r></w:p></w:hdr>`,
    });
  }
  return buildZip(entries);
}

export function buildXlsx(sheets: { name: string; rows: (string | number | null)[][] }[]): Buffer {
  const shared: string[] = [];
  const sharedIndex = (text: string) => {
    let index = shared.indexOf(text);
    if (index === -1) index = shared.push(text) - 1;
    return index;
  };
  const column = (i: number) => {
    let name = '';
    for (let n = i + 1; n > 0; n = Math.floor((n - 1) / 26))
      name = String.fromCharCode(65 + ((n - 1) % 26)) + name;
    return name;
  };
  const sheetXml = sheets.map((sheet) =>
    [
      '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>',
      ...sheet.rows.map((row, r) => {
        const cells = row
          .map((value, c) => {
            if (value === null) return '';
            const ref = `${column(c)}${r + 1}`;
            return typeof value === 'number'
              ? `<c r="${ref}"><v>${value}</v></c>`
              : `<c r="${ref}" t="s"><v>${sharedIndex(value)}</v></c>`;
          })
          .join('');
        return `<row r="${r + 1}">${cells}</row>`;
      }),
      '</sheetData></worksheet>',
    ].join(''),
  );
  return buildZip([
    { name: '[Content_Types].xml', data: CONTENT_TYPES },
    {
      name: 'xl/workbook.xml',
      data: `<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>${sheets
        .map((s, i) => `<sheet name="${escapeXml(s.name)}" sheetId="${i + 1}" r:id="rId${i + 1}"/>`)
        .join('')}</sheets></workbook>`,
    },
    {
      name: 'xl/_rels/workbook.xml.rels',
      data: `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">${sheets
        .map(
          (_s, i) =>
            `<Relationship Id="rId${i + 1}" Type="worksheet" Target="worksheets/sheet${i + 1}.xml"/>`,
        )
        .join('')}</Relationships>`,
    },
    ...sheetXml.map((data, i) => ({ name: `xl/worksheets/sheet${i + 1}.xml`, data })),
    {
      name: 'xl/sharedStrings.xml',
      data: `<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="${shared.length}">${shared
        .map((s) => `<si><t>${escapeXml(s)}</t></si>`)
        .join('')}</sst>`,
    },
  ]);
}

export function buildPptx(slides: string[][]): Buffer {
  return buildZip([
    { name: '[Content_Types].xml', data: CONTENT_TYPES },
    { name: 'ppt/presentation.xml', data: '<p:presentation xmlns:p="p"/>' },
    ...slides.map((paragraphs, i) => ({
      name: `ppt/slides/slide${i + 1}.xml`,
      data: `<p:sld xmlns:p="p" xmlns:a="a"><p:cSld><p:spTree><p:sp><p:txBody>${paragraphs
        .map((p) => `<a:p><a:r><a:t>${escapeXml(p)}</a:t></a:r></a:p>`)
        .join('')}</p:txBody></p:sp></p:spTree></p:cSld></p:sld>`,
    })),
  ]);
}

export function buildOdt(paragraphs: string[]): Buffer {
  return buildZip([
    { name: 'mimetype', data: 'application/vnd.oasis.opendocument.text', method: 'store' },
    {
      name: 'content.xml',
      data: `<office:document-content xmlns:office="o" xmlns:text="t"><office:body><office:text>${paragraphs
        .map((p) => `<text:p text:style-name="P1">${escapeXml(p).replace(/ {2}/g, ' <text:s/>')}</text:p>`)
        .join('')}</office:text></office:body></office:document-content>`,
    },
  ]);
}

export function buildOds(sheets: { name: string; rows: (string | null)[][] }[]): Buffer {
  const cell = (value: string | null) =>
    value === null
      ? '<table:table-cell/>'
      : /^-?\d+(\.\d+)?$/.test(value)
        ? `<table:table-cell office:value-type="float" office:value="${value}"><text:p>${value}</text:p></table:table-cell>`
        : `<table:table-cell office:value-type="string"><text:p>${escapeXml(value)}</text:p></table:table-cell>`;
  const tables = sheets
    .map(
      (sheet) =>
        `<table:table table:name="${escapeXml(sheet.name)}">${sheet.rows
          .map(
            (row) =>
              `<table:table-row>${row.map(cell).join('')}<table:table-cell table:number-columns-repeated="1020"/></table:table-row>`,
          )
          .join(
            '',
          )}<table:table-row table:number-rows-repeated="1048000"><table:table-cell table:number-columns-repeated="1024"/></table:table-row></table:table>`,
    )
    .join('');
  return buildZip([
    { name: 'mimetype', data: 'application/vnd.oasis.opendocument.spreadsheet', method: 'store' },
    {
      name: 'content.xml',
      data: `<office:document-content xmlns:office="o" xmlns:table="t" xmlns:text="x"><office:body><office:spreadsheet>${tables}</office:spreadsheet></office:body></office:document-content>`,
    },
  ]);
}

export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export async function collectAll(iterable: AsyncIterable<ContentComponent>): Promise<ContentComponent[]> {
  const out: ContentComponent[] = [];
  for await (const component of iterable) out.push(component);
  return out;
}

/**
 * The whole text of one component path, checking that its chunks are consecutive: each offset is the previous
 * offset plus the previous text length, and each line is the previous line plus the newlines before it.
 */
export function textOf(components: ContentComponent[], componentPath: string): string {
  const chunks = components.filter((c) => c.componentPath === componentPath && c.kind === 'text');
  let text = '';
  let line = 1;
  for (const chunk of chunks) {
    if (chunk.offset !== text.length)
      throw new Error(`offset ${chunk.offset} != ${text.length} at ${componentPath}`);
    if (chunk.line !== line) throw new Error(`line ${chunk.line} != ${line} at ${componentPath}`);
    text += chunk.text;
    line += (chunk.text!.match(/\n/g) ?? []).length;
  }
  return text;
}

/** Header and all rows of one table component path, checking rowOffsets. */
export function tableOf(
  components: ContentComponent[],
  componentPath: string,
): { columns: string[]; rows: unknown[][] } {
  const batches = components.filter((c) => c.componentPath === componentPath && c.kind === 'table');
  const rows: unknown[][] = [];
  for (const batch of batches) {
    if (batch.rowOffset !== rows.length) throw new Error(`rowOffset ${batch.rowOffset} != ${rows.length}`);
    rows.push(...batch.rows!);
  }
  return { columns: batches[0]?.columns ?? [], rows };
}

export function errorsOf(
  components: ContentComponent[],
): { componentPath: string; type: string; message: string }[] {
  return components
    .filter((c) => c.kind === 'error')
    .map((c) => ({ componentPath: c.componentPath, type: c.error!.type, message: c.error!.message }));
}
