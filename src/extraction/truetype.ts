/**
 * The character map of a TrueType/OpenType font program (the `cmap` table, formats 4 and 12), read backwards:
 * which text each glyph draws. PDFs that show text with an embedded CID font and no ToUnicode map name glyphs,
 * not characters; the font's own cmap is then the only way back to the text.
 */

/** Unicode subtables in order of preference: (platform, encoding). */
const PREFERRED_SUBTABLES: Array<[number, number]> = [
  [3, 10], // Windows, full Unicode
  [0, 4], // Unicode, full repertoire
  [3, 1], // Windows, BMP
  [0, 3], // Unicode, BMP
];

/** Code points read from one font at most: twice Unicode's, so a hostile table cannot loop for billions. */
const MAX_CODE_POINTS_READ = 2 * 0x110000;

/**
 * Glyph id → the character it draws (the lowest code point, when several map to one glyph). Empty when the font
 * has no Unicode cmap or is damaged: a font never fails the extraction.
 */
export function glyphCharacters(font: Buffer): Map<number, string> {
  const glyphs = new Map<number, string>();
  try {
    const cmap = tableOffset(font, 'cmap');
    if (cmap === undefined) return glyphs;
    const count = font.readUInt16BE(cmap + 2);
    const subtables = new Map<string, number>();
    for (let i = 0; i < count; i++) {
      const record = cmap + 4 + i * 8;
      subtables.set(
        `${font.readUInt16BE(record)}/${font.readUInt16BE(record + 2)}`,
        cmap + font.readUInt32BE(record + 4),
      );
    }
    for (const [platform, encoding] of PREFERRED_SUBTABLES) {
      const at = subtables.get(`${platform}/${encoding}`);
      if (at === undefined) continue;
      const format = font.readUInt16BE(at);
      let budget = MAX_CODE_POINTS_READ;
      const add = (codePoint: number, glyph: number) => {
        if (--budget < 0) throw new RangeError('cmap table too large');
        if (glyph !== 0 && codePoint <= 0x10ffff && !glyphs.has(glyph))
          glyphs.set(glyph, String.fromCodePoint(codePoint));
      };
      if (format === 4) readFormat4(font, at, add);
      else if (format === 12) readFormat12(font, at, add);
      else continue;
      if (glyphs.size > 0) return glyphs;
    }
  } catch {
    // A read past the end or a table too large: damaged (or hostile) font, whatever was read is kept.
  }
  return glyphs;
}

/** Offset of table `tag` in the font's table directory. */
function tableOffset(font: Buffer, tag: string): number | undefined {
  const tables = font.readUInt16BE(4);
  for (let i = 0; i < tables; i++) {
    const record = 12 + i * 16;
    if (font.toString('latin1', record, record + 4) === tag) return font.readUInt32BE(record + 8);
  }
  return undefined;
}

/** Format 4: segments of BMP code points, by delta or through the glyph id array. */
function readFormat4(font: Buffer, at: number, add: (codePoint: number, glyph: number) => void): void {
  const segments = font.readUInt16BE(at + 6) / 2;
  const ends = at + 14;
  const starts = ends + segments * 2 + 2;
  const deltas = starts + segments * 2;
  const rangeOffsets = deltas + segments * 2;
  for (let s = 0; s < segments; s++) {
    const end = font.readUInt16BE(ends + s * 2);
    const start = font.readUInt16BE(starts + s * 2);
    const delta = font.readUInt16BE(deltas + s * 2);
    const rangeOffsetAt = rangeOffsets + s * 2;
    const rangeOffset = font.readUInt16BE(rangeOffsetAt);
    for (let code = start; code <= end && code !== 0xffff; code++) {
      let glyph: number;
      if (rangeOffset === 0) glyph = (code + delta) & 0xffff;
      else {
        glyph = font.readUInt16BE(rangeOffsetAt + rangeOffset + (code - start) * 2);
        if (glyph !== 0) glyph = (glyph + delta) & 0xffff;
      }
      add(code, glyph);
    }
  }
}

/** Format 12: groups of consecutive code points drawn by consecutive glyphs. */
function readFormat12(font: Buffer, at: number, add: (codePoint: number, glyph: number) => void): void {
  const groups = font.readUInt32BE(at + 12);
  for (let g = 0; g < groups; g++) {
    const group = at + 16 + g * 12;
    const start = font.readUInt32BE(group);
    const end = Math.min(font.readUInt32BE(group + 4), start + 0xffff);
    const glyph = font.readUInt32BE(group + 8);
    for (let code = start; code <= end; code++) add(code, glyph + (code - start));
  }
}
