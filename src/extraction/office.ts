/**
 * Office documents (OOXML: DOCX, XLSX, PPTX; OpenDocument: ODT, ODS, ODP) read part by part from their zip
 * container, each XML part streamed through the markup tokenizer.
 */
import type { ContentComponent } from '../core/models';
import { MarkupTokenizer, localName, type MarkupEvent } from './markup';
import { TableBatcher, TextChunker } from './text';

export type OfficeFormat = 'docx' | 'xlsx' | 'pptx' | 'odt' | 'ods' | 'odp';

/** What office extraction needs from the zip container. */
export interface OfficeParts {
  names: string[];
  /** The part's text, decoded as UTF-8, in chunks, with the source bytes each chunk consumed. */
  text(name: string): AsyncIterable<{ text: string; bytes: number }>;
}

export interface OfficeTarget {
  objectId: string;
  componentPath: string;
  textChunkChars: number;
  tableBatchRows: number;
}

/** Which office format a zip holds, from its part names (and the ODF mimetype part's content). */
export function detectOfficeFormat(
  names: Set<string>,
  odfMimetype: string | undefined,
): OfficeFormat | undefined {
  if (names.has('word/document.xml')) return 'docx';
  if (names.has('xl/workbook.xml')) return 'xlsx';
  if (names.has('ppt/presentation.xml')) return 'pptx';
  if (odfMimetype && names.has('content.xml')) {
    if (odfMimetype.startsWith('application/vnd.oasis.opendocument.text')) return 'odt';
    if (odfMimetype.startsWith('application/vnd.oasis.opendocument.spreadsheet')) return 'ods';
    if (odfMimetype.startsWith('application/vnd.oasis.opendocument.presentation')) return 'odp';
  }
  return undefined;
}

async function* events(
  parts: OfficeParts,
  name: string,
): AsyncGenerator<{ events: MarkupEvent[]; bytes: number }> {
  const tokenizer = new MarkupTokenizer();
  for await (const chunk of parts.text(name))
    yield { events: tokenizer.push(chunk.text), bytes: chunk.bytes };
  yield { events: tokenizer.end(), bytes: 0 };
}

const numberIn = (name: string) => Number(/(\d+)\.xml$/.exec(name)?.[1] ?? 0);

/**
 * OOXML paragraphs: text of `t` elements, `tab` as a tab, `br`/`cr` as newlines, one line per paragraph.
 * Field codes (instrText) and deleted text (delText) are not `t` and so are left out.
 */
async function* ooxmlText(
  parts: OfficeParts,
  names: string[],
  chunker: TextChunker,
): AsyncGenerator<ContentComponent> {
  let wroteBefore = false;
  for (const name of names) {
    let inText = 0;
    let inTabStops = 0;
    let wrote = false;
    for await (const { events: batch, bytes } of events(parts, name)) {
      let out = '';
      for (const event of batch) {
        if (event.type === 'text') {
          if (inText > 0) out += event.text;
          continue;
        }
        const local = localName(event.name);
        if (event.type === 'open') {
          if (local === 't' && !event.selfClosing) inText++;
          else if (local === 'tabs' && !event.selfClosing) inTabStops++;
          else if (local === 'tab' && inTabStops === 0) out += '\t';
          else if (local === 'br' || local === 'cr') out += '\n';
        } else if (local === 't') inText = Math.max(0, inText - 1);
        else if (local === 'tabs') inTabStops = Math.max(0, inTabStops - 1);
        else if (local === 'p') out += '\n';
      }
      // Parts are separated by a blank line.
      if (out && !wrote && wroteBefore) out = `\n${out}`;
      if (out) wrote = true;
      yield* chunker.push(out, bytes);
    }
    wroteBefore ||= wrote;
  }
}

async function* docx(parts: OfficeParts, target: OfficeTarget): AsyncGenerator<ContentComponent> {
  const extra = (pattern: RegExp) =>
    parts.names.filter((n) => pattern.test(n)).sort((a, b) => numberIn(a) - numberIn(b));
  const names = [
    'word/document.xml',
    ...extra(/^word\/header\d*\.xml$/),
    ...extra(/^word\/footer\d*\.xml$/),
    ...extra(/^word\/footnotes\.xml$/),
    ...extra(/^word\/endnotes\.xml$/),
    ...extra(/^word\/comments\.xml$/),
  ];
  const chunker = new TextChunker(target.objectId, target.componentPath, target.textChunkChars);
  yield* ooxmlText(parts, names, chunker);
  yield* chunker.flush();
}

async function* pptx(parts: OfficeParts, target: OfficeTarget): AsyncGenerator<ContentComponent> {
  const groups: [RegExp, string][] = [
    [/^ppt\/slides\/slide\d+\.xml$/, 'slide'],
    [/^ppt\/notesSlides\/notesSlide\d+\.xml$/, 'notes'],
  ];
  for (const [pattern, label] of groups) {
    const names = parts.names.filter((n) => pattern.test(n)).sort((a, b) => numberIn(a) - numberIn(b));
    for (const name of names) {
      const chunker = new TextChunker(
        target.objectId,
        `${target.componentPath}!/${label}${numberIn(name)}`,
        target.textChunkChars,
      );
      yield* ooxmlText(parts, [name], chunker);
      yield* chunker.flush();
    }
  }
}

/** `BC12` → 54 (0-based column index of a cell reference). */
export function columnIndex(reference: string): number {
  let index = 0;
  for (const ch of reference) {
    const code = ch.charCodeAt(0);
    if (code < 65 || code > 90) break;
    index = index * 26 + (code - 64);
  }
  return index - 1;
}

const MAX_COLUMNS = 16384;

async function collectText(parts: OfficeParts, name: string): Promise<string> {
  let text = '';
  for await (const chunk of parts.text(name)) text += chunk.text;
  return text;
}

async function* xlsx(parts: OfficeParts, target: OfficeTarget): AsyncGenerator<ContentComponent> {
  const sharedStrings: string[] = [];
  if (parts.names.includes('xl/sharedStrings.xml')) {
    let current: string | undefined;
    let inText = 0;
    let inPhonetic = 0;
    for await (const { events: batch } of events(parts, 'xl/sharedStrings.xml')) {
      for (const event of batch) {
        if (event.type === 'text') {
          if (current !== undefined && inText > 0 && inPhonetic === 0) current += event.text;
          continue;
        }
        const local = localName(event.name);
        if (event.type === 'open') {
          if (local === 'si') {
            current = '';
            if (event.selfClosing) {
              sharedStrings.push('');
              current = undefined;
            }
          } else if (local === 't' && !event.selfClosing) inText++;
          else if (local === 'rPh' && !event.selfClosing) inPhonetic++;
        } else if (local === 'si') {
          sharedStrings.push(current ?? '');
          current = undefined;
        } else if (local === 't') inText = Math.max(0, inText - 1);
        else if (local === 'rPh') inPhonetic = Math.max(0, inPhonetic - 1);
      }
    }
  }

  // Sheet names, in workbook order, and their part names through the workbook relationships.
  const relationships = new Map<string, string>();
  if (parts.names.includes('xl/_rels/workbook.xml.rels')) {
    const rels = await collectText(parts, 'xl/_rels/workbook.xml.rels');
    for (const event of new MarkupTokenizer().push(rels)) {
      if (
        event.type === 'open' &&
        localName(event.name) === 'Relationship' &&
        event.attrs.Id &&
        event.attrs.Target
      ) {
        const targetPath = event.attrs.Target.startsWith('/')
          ? event.attrs.Target.slice(1)
          : `xl/${event.attrs.Target}`;
        relationships.set(event.attrs.Id, targetPath.replace(/\/\.\//g, '/'));
      }
    }
  }
  const sheets: { name: string; part: string }[] = [];
  const workbook = await collectText(parts, 'xl/workbook.xml');
  for (const event of new MarkupTokenizer().push(workbook)) {
    if (event.type !== 'open' || localName(event.name) !== 'sheet') continue;
    const relId = Object.entries(event.attrs).find(([key]) => key === 'r:id' || key.endsWith(':id'))?.[1];
    const part = relId ? relationships.get(relId) : undefined;
    sheets.push({
      name: event.attrs.name ?? `Sheet${sheets.length + 1}`,
      part: part ?? `xl/worksheets/sheet${sheets.length + 1}.xml`,
    });
  }

  for (const sheet of sheets) {
    if (!parts.names.includes(sheet.part)) continue;
    const batcher = new TableBatcher(
      target.objectId,
      `${target.componentPath}!/${sheet.name}`,
      target.tableBatchRows,
    );
    let row: (string | null)[] | undefined;
    let column = -1;
    let cellType = '';
    let value: string | undefined;
    let inValue = 0;
    let inInline = 0;
    for await (const { events: batch, bytes } of events(parts, sheet.part)) {
      batcher.addBytes(bytes);
      for (const event of batch) {
        if (event.type === 'text') {
          if (inValue > 0 || inInline > 0) value = (value ?? '') + event.text;
          continue;
        }
        const local = localName(event.name);
        if (event.type === 'open') {
          if (local === 'row') {
            row = [];
            column = -1;
            if (event.selfClosing) row = undefined;
          } else if (local === 'c') {
            column = event.attrs.r ? columnIndex(event.attrs.r) : column + 1;
            cellType = event.attrs.t ?? 'n';
            value = undefined;
          } else if (local === 'v' && !event.selfClosing) inValue++;
          else if (local === 't' && cellType === 'inlineStr' && !event.selfClosing) inInline++;
        } else if (local === 'v') inValue = Math.max(0, inValue - 1);
        else if (local === 't') inInline = Math.max(0, inInline - 1);
        else if (local === 'c' && row && value !== undefined && column >= 0 && column < MAX_COLUMNS) {
          let cell: string = value;
          if (cellType === 's') cell = sharedStrings[Number(value)] ?? '';
          else if (cellType === 'b') cell = value === '1' ? 'TRUE' : 'FALSE';
          while (row.length < column) row.push(null);
          row[column] = cell;
        } else if (local === 'row' && row) {
          if (row.some((cell) => cell !== null && cell !== '')) {
            const component = batcher.push(row);
            if (component) yield component;
          }
          row = undefined;
        }
      }
    }
    const last = batcher.flush();
    if (last) yield last;
  }
}

/** OpenDocument text (and presentations): paragraphs and headings, one per line. */
async function* odfText(parts: OfficeParts, target: OfficeTarget): AsyncGenerator<ContentComponent> {
  const chunker = new TextChunker(target.objectId, target.componentPath, target.textChunkChars);
  let inParagraph = 0;
  let inNoteCitation = 0;
  for await (const { events: batch, bytes } of events(parts, 'content.xml')) {
    let out = '';
    for (const event of batch) {
      if (event.type === 'text') {
        if (inParagraph > 0 && inNoteCitation === 0) out += event.text;
        continue;
      }
      const local = localName(event.name);
      if (event.type === 'open') {
        if ((local === 'p' || local === 'h') && !event.selfClosing) inParagraph++;
        else if ((local === 'p' || local === 'h') && event.selfClosing) out += '\n';
        else if (local === 'note-citation' && !event.selfClosing) inNoteCitation++;
        else if (local === 's') out += ' '.repeat(Math.min(Number(event.attrs['text:c'] ?? 1) || 1, 1000));
        else if (local === 'tab') out += '\t';
        else if (local === 'line-break') out += '\n';
      } else if (local === 'p' || local === 'h') {
        inParagraph = Math.max(0, inParagraph - 1);
        out += '\n';
      } else if (local === 'note-citation') inNoteCitation = Math.max(0, inNoteCitation - 1);
    }
    yield* chunker.push(out, bytes);
  }
  yield* chunker.flush();
}

/** Repeated rows/cells beyond this are not materialised (sheets pad with a million empty repeated rows). */
const MAX_REPEAT = 1000;

async function* ods(parts: OfficeParts, target: OfficeTarget): AsyncGenerator<ContentComponent> {
  let batcher: TableBatcher | undefined;
  let row: (string | null)[] | undefined;
  let rowRepeat = 1;
  let pendingEmpty = 0;
  let cell: { text: string; paragraphs: number; repeat: number; value?: string } | undefined;
  let inParagraph = 0;
  let sheetCount = 0;
  for await (const { events: batch, bytes } of events(parts, 'content.xml')) {
    batcher?.addBytes(bytes);
    for (const event of batch) {
      if (event.type === 'text') {
        if (cell && inParagraph > 0) cell.text += event.text;
        continue;
      }
      const local = localName(event.name);
      if (event.type === 'open') {
        if (local === 'table' && !event.selfClosing) {
          sheetCount++;
          const name = event.attrs['table:name'] ?? `Sheet${sheetCount}`;
          batcher = new TableBatcher(
            target.objectId,
            `${target.componentPath}!/${name}`,
            target.tableBatchRows,
          );
        } else if (local === 'table-row') {
          row = [];
          pendingEmpty = 0;
          rowRepeat = Math.max(1, Number(event.attrs['table:number-rows-repeated'] ?? 1) || 1);
          if (event.selfClosing) row = undefined;
        } else if ((local === 'table-cell' || local === 'covered-table-cell') && row) {
          const repeat = Math.max(1, Number(event.attrs['table:number-columns-repeated'] ?? 1) || 1);
          const value =
            event.attrs['office:value'] ??
            event.attrs['office:date-value'] ??
            event.attrs['office:time-value'] ??
            event.attrs['office:boolean-value'] ??
            event.attrs['office:string-value'];
          cell = { text: '', paragraphs: 0, repeat, value };
          if (event.selfClosing) {
            addOdsCell();
          }
        } else if (local === 'p' && cell && !event.selfClosing) {
          if (cell.paragraphs++ > 0) cell.text += '\n';
          inParagraph++;
        } else if (local === 's' && cell && inParagraph > 0) {
          cell.text += ' '.repeat(Math.min(Number(event.attrs['text:c'] ?? 1) || 1, 1000));
        } else if (local === 'line-break' && cell && inParagraph > 0) cell.text += '\n';
        else if (local === 'tab' && cell && inParagraph > 0) cell.text += '\t';
      } else if (local === 'p') inParagraph = Math.max(0, inParagraph - 1);
      else if ((local === 'table-cell' || local === 'covered-table-cell') && cell) addOdsCell();
      else if (local === 'table-row' && row) {
        if (batcher && row.length > 0) {
          for (let i = 0; i < Math.min(rowRepeat, MAX_REPEAT); i++) {
            const component = batcher.push(i === 0 ? row : [...row]);
            if (component) yield component;
          }
        }
        row = undefined;
      } else if (local === 'table' && batcher) {
        const last = batcher.flush();
        if (last) yield last;
        batcher = undefined;
      }
    }
  }

  function addOdsCell(): void {
    if (!cell || !row) return;
    const content = cell.text !== '' ? cell.text : (cell.value ?? '');
    if (content === '') pendingEmpty += cell.repeat;
    else {
      // Empty cells only materialise when a value follows them.
      for (let i = 0; i < pendingEmpty && row.length < MAX_COLUMNS; i++) row.push(null);
      pendingEmpty = 0;
      for (let i = 0; i < Math.min(cell.repeat, MAX_REPEAT) && row.length < MAX_COLUMNS; i++)
        row.push(content);
    }
    cell = undefined;
  }
}

export function extractOffice(
  format: OfficeFormat,
  parts: OfficeParts,
  target: OfficeTarget,
): AsyncGenerator<ContentComponent> {
  switch (format) {
    case 'docx':
      return docx(parts, target);
    case 'pptx':
      return pptx(parts, target);
    case 'xlsx':
      return xlsx(parts, target);
    case 'ods':
      return ods(parts, target);
    case 'odt':
    case 'odp':
      return odfText(parts, target);
  }
}
