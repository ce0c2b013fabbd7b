/**
 * The scan engine.
 *
 * - Candidates: a native pass (native/start_dfa.h) over the text finds every position where some
 *   detector pattern has a match starting, and which patterns match there: one backward DFA pass over the
 *   text, whatever the number of detectors.
 * - Each candidate is confirmed with the pattern's JavaScript regex, sticky at that position, in
 *   ascending order and skipping starts inside the previous match of the same pattern: exactly the
 *   matches a global scan of the text with that regex would make, at the cost of one short match each.
 * - Each match is then evaluated in JavaScript by the detectors sharing the pattern: value extraction,
 *   checksum validation, hotword and exclusion context, allow list; masking and fingerprinting only for
 *   reported findings.
 * Custom detectors run in a second pass so they never shadow (or get shadowed by) built-ins.
 */

import { createHash } from 'node:crypto';
import { ConfigurationError } from '../core/errors';
import { unsliced } from '../core/strings';
import type { ClassificationConfig } from './config';
import { EMPTY_CONFIG } from './config';
import { BUILTIN_DETECTORS, type Detector } from './detectors';
import { fingerprinter, mask, normaliseValue } from './fingerprint';
import { LIKELIHOODS, type ColumnClassification, type Finding, type Likelihood } from './types';
import { NAMED_VALIDATORS, isWordCode } from './validators';
import { compileScanner, type NativeScanner } from './native-scan';

/** Characters of context before a match searched for hotwords and exclusions. */
export const HOTWORD_WINDOW = 50;
/**
 * Lower-case the whole text once when it has a candidate per this many characters or more: about where one
 * call on the text costs what a call per candidate's context does.
 */
const LOWER_WHOLE_TEXT_EVERY = 256;
/** Longest match the chunked scanner guarantees to find across a chunk boundary. */
export const MAX_MATCH_CHARS = 4096;

export const DEFAULT_MIN_LIKELIHOOD: Likelihood = 'POSSIBLE';

export function likelihoodLevel(likelihood: Likelihood): number {
  return LIKELIHOODS.indexOf(likelihood);
}

/** What a classifier is built from: plain JSON, sent as is to worker threads. */
export interface RulesetSpec {
  /** Detector ids or infoTypes to enable; default all built-ins. */
  detectors?: string[];
  minLikelihood: Likelihood;
  config: ClassificationConfig;
}

export interface TextScanOptions {
  componentPath: string;
  /** Absolute character offset and 1-based line of text[0]. */
  baseOffset?: number;
  baseLine?: number;
  /** Report only findings starting in [reportFrom, reportTo) (window-relative); default whole text. */
  reportFrom?: number;
  reportTo?: number;
  /** Findings to fingerprint and return in full; the rest are only counted. Default unlimited. */
  budget?: number;
  /** Extra context placed before the text for hotwords (a table's column name). */
  contextPrefix?: string;
  /** Report at or above this level instead of the ruleset's minimum. */
  minLevel?: number;
  /** Count the newlines in text[0, newlinesTo) into the result's `newlines`. Default: none. */
  newlinesTo?: number;
}

export interface TextScanResult {
  findings: Finding[];
  /** Findings over budget, counted by infoType. */
  overflow: Record<string, number>;
  /** Newlines before the scan's `newlinesTo`; 0 when not asked for. */
  newlines?: number;
}

interface CompiledDetector extends Detector {
  hasValueGroup: boolean;
  checksum: boolean;
  /** `base` and `withHotword` as levels. */
  baseLevel: number;
  hotwordLevel: number | undefined;
}

/** One scanText call's state shared by its evaluations. */
interface TextScan {
  text: string;
  contextPrefix: string | undefined;
  minLevel: number;
  pending: Pending[];
  /** Lower-cased context before `contextStart`, built once for all the detectors evaluated there. */
  contextStart: number;
  context: string;
  /**
   * The whole text lower-cased, when candidates are dense enough that one call beats one per candidate and
   * slicing it equals lower-casing the slice (same length, no capital sigma); else undefined.
   */
  lowerText: string | undefined;
  /** Every finding of this scan goes over budget (counted, not detailed): only ≥ minLevel matters. */
  countOnly: boolean;
}

interface Pass {
  /** Native candidate finder over all the pass's patterns. */
  scanner: NativeScanner;
  /** Per pattern: its JavaScript regex, sticky (with indices when it has a value group). */
  sticky: RegExp[];
  /** Per pattern: whether it has a value group, and where (see valueGroupOf). */
  valueGroup: ValueGroup[];
  /** Per pattern: the detectors sharing it. */
  byAlternative: CompiledDetector[][];
}

interface Pending {
  detector: CompiledDetector;
  start: number;
  end: number;
  value: string;
  level: number;
}

/** Rewrites capture groups as non-capturing ones (the combined pattern needs none). */
export function withoutCaptures(source: string): string {
  let out = '';
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const ch = source[i];
    if (ch === '\\') {
      out += ch + (source[i + 1] ?? '');
      i++;
      continue;
    }
    if (inClass) {
      if (ch === ']') inClass = false;
    } else if (ch === '[') inClass = true;
    else if (ch === '(' && source[i + 1] !== '?') {
      out += '(?:';
      continue;
    }
    out += ch;
  }
  return out;
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}

const CHECKSUM_VALIDATED = new Set([
  'CREDIT_CARD_NUMBER',
  'IBAN_CODE',
  'US_BANK_ROUTING_MICR',
  'UK_NATIONAL_HEALTH_SERVICE_NUMBER',
  'CANADA_SOCIAL_INSURANCE_NUMBER',
  'AUSTRALIA_TAX_FILE_NUMBER',
  'INDIA_AADHAAR_INDIVIDUAL',
  'SPAIN_NIF_NUMBER',
  'SPAIN_NIE_NUMBER',
  'ITALY_FISCAL_CODE',
  'FRANCE_NIR',
  'GERMANY_TAXPAYER_IDENTIFICATION_NUMBER',
  'NETHERLANDS_BSN_NUMBER',
  'BRAZIL_CPF_NUMBER',
  'US_HEALTHCARE_NPI',
  'US_DEA_NUMBER',
  'IMEI_HARDWARE_ID',
]);

function compileDetector(detector: Detector): CompiledDetector {
  let hasValueGroup: boolean;
  try {
    hasValueGroup = new RegExp(`${detector.pattern}|`).exec('')!.length > 1;
  } catch (error) {
    throw new ConfigurationError(`detector ${detector.id}: invalid pattern: ${(error as Error).message}`, {
      detector: detector.id,
    });
  }
  // Every field in one order, optional ones included: one object shape for all detectors keeps the hot
  // property reads in evaluate() monomorphic (spread copies gave each detector a shape of its own).
  return {
    id: detector.id,
    infoType: detector.infoType,
    category: detector.category,
    version: detector.version,
    description: detector.description,
    pattern: detector.pattern,
    ignoreCase: detector.ignoreCase,
    validate: detector.validate,
    refine: detector.refine,
    base: detector.base,
    hotwords: detector.hotwords,
    withHotword: detector.withHotword,
    exclude: detector.exclude,
    excludeValue: detector.excludeValue,
    numeric: detector.numeric,
    generic: detector.generic,
    adjust: detector.adjust,
    mask: detector.mask,
    normalise: detector.normalise,
    hasValueGroup,
    checksum: CHECKSUM_VALIDATED.has(detector.id),
    baseLevel: likelihoodLevel(detector.base),
    hotwordLevel: detector.withHotword ? likelihoodLevel(detector.withHotword) : undefined,
  };
}

const NO_VALUE_GROUP = 0;
/** The value group closes the pattern: when it matched, it ends where the match does. */
const VALUE_GROUP_AT_END = 1;
const VALUE_GROUP_INSIDE = 2;
type ValueGroup = typeof NO_VALUE_GROUP | typeof VALUE_GROUP_AT_END | typeof VALUE_GROUP_INSIDE;

/** Where a pattern with a value group has it: at its very end (the only capture, unquantified) or inside. */
export function valueGroupOf(source: string): ValueGroup {
  const open: boolean[] = [];
  let captures = 0;
  let inClass = false;
  let closesAtEnd = false;
  for (let i = 0; i < source.length; i++) {
    const ch = source[i];
    if (ch === '\\') {
      i++;
      continue;
    }
    if (inClass) {
      if (ch === ']') inClass = false;
    } else if (ch === '[') inClass = true;
    else if (ch === '(') {
      const capturing =
        source[i + 1] !== '?' || (source.startsWith('(?<', i) && !/^\(\?<[=!]/.test(source.slice(i, i + 4)));
      if (capturing) captures++;
      open.push(capturing);
    } else if (ch === ')') {
      const capturing = open.pop();
      if (capturing && i === source.length - 1) closesAtEnd = true;
    }
  }
  return closesAtEnd && captures === 1 ? VALUE_GROUP_AT_END : VALUE_GROUP_INSIDE;
}

function compilePass(detectors: CompiledDetector[]): Pass | undefined {
  if (detectors.length === 0) return undefined;
  const patterns: string[] = [];
  const sticky: RegExp[] = [];
  const valueGroup: ValueGroup[] = [];
  const byAlternative: CompiledDetector[][] = [];
  const owners: string[] = [];
  const index = new Map<string, number>();
  for (const detector of detectors) {
    const source = withoutCaptures(detector.pattern);
    const pattern = detector.ignoreCase ? `(?i:${source})` : `(?:${source})`;
    let i = index.get(pattern);
    if (i === undefined) {
      i = patterns.length;
      index.set(pattern, i);
      patterns.push(pattern);
      owners.push(detector.id);
      const group = detector.hasValueGroup ? valueGroupOf(detector.pattern) : NO_VALUE_GROUP;
      // Match indices cost an allocation per match (twice the time of the match on dense text): only a
      // value group that may end before the match does needs them.
      sticky.push(
        new RegExp(
          detector.pattern,
          `y${group === VALUE_GROUP_INSIDE ? 'd' : ''}${detector.ignoreCase ? 'i' : ''}`,
        ),
      );
      valueGroup.push(group);
      byAlternative.push([]);
    }
    byAlternative[i].push(detector);
  }
  return { scanner: compileScanner(patterns, owners), sticky, valueGroup, byAlternative };
}

function customDetectors(config: ClassificationConfig): Detector[] {
  const out: Detector[] = [];
  const digest = (value: unknown): string =>
    createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 8);
  for (const custom of config.detectors) {
    const base = custom.likelihood ?? 'POSSIBLE';
    const keywords = (custom.keywords ?? []).map((k) => escapeRegex(k.toLowerCase()));
    const validator = custom.validator ? NAMED_VALIDATORS[custom.validator] : undefined;
    out.push({
      id: custom.infoType,
      infoType: custom.infoType,
      category: custom.category ?? 'PII',
      version: `custom-${digest(custom)}`,
      description: custom.description ?? `custom detector ${custom.infoType}`,
      pattern: custom.regex,
      ignoreCase: custom.ignoreCase,
      validate: validator,
      base,
      hotwords: keywords.length ? new RegExp(keywords.join('|')) : undefined,
      withHotword: LIKELIHOODS[Math.min(4, likelihoodLevel(base) + 1)],
      mask: 'tail',
      normalise: 'raw',
    });
  }
  config.denyList.forEach((entry, i) => {
    const pattern = entry.regex ?? escapeRegex(entry.value ?? '');
    out.push({
      id: `DENY_LIST_${i}`,
      infoType: entry.infoType ?? 'DENY_LIST',
      category: entry.category ?? 'PII',
      version: `custom-${digest(entry)}`,
      description: 'deny list entry',
      pattern,
      ignoreCase: entry.regex === undefined,
      base: 'VERY_LIKELY',
      mask: 'tail',
      normalise: 'raw',
    });
  });
  return out;
}

/** Selects built-ins by id or infoType; unknown names are a configuration error. */
export function selectBuiltins(names?: string[]): Detector[] {
  if (!names || names.length === 0) return [...BUILTIN_DETECTORS];
  const wanted = new Set(names);
  const known = new Set(BUILTIN_DETECTORS.flatMap((d) => [d.id, d.infoType]));
  const unknown = names.filter((name) => !known.has(name));
  if (unknown.length) {
    throw new ConfigurationError(`unknown detector(s): ${unknown.join(', ')}`, {
      detectors: unknown.join(','),
    });
  }
  return BUILTIN_DETECTORS.filter((d) => wanted.has(d.id) || wanted.has(d.infoType));
}

/** Stable hash of everything that changes results. */
export function rulesetVersion(spec: RulesetSpec): string {
  const detectors = [...selectBuiltins(spec.detectors), ...customDetectors(spec.config)].map(
    (d) => `${d.id}@${d.version}`,
  );
  const body = JSON.stringify({ detectors, config: spec.config, minLikelihood: spec.minLikelihood });
  return `rs1-${createHash('sha256').update(body).digest('hex').slice(0, 16)}`;
}

/** Whether a finding at `level` (before clamping to the five levels) is reported from `min`. */
function counts(level: number, min: number): boolean {
  return min <= 0 || level >= min;
}

function inOrder(pending: Pending[]): boolean {
  for (let i = 1; i < pending.length; i++) {
    const a = pending[i - 1];
    const b = pending[i];
    if (a.start > b.start || (a.start === b.start && a.end > b.end)) return false;
  }
  return true;
}

/**
 * Overlapping findings: one per infoType and place; broad detectors (phone, password, generic secret)
 * yield to specific ones; a finding strictly inside a longer one of another type (a card-like run inside
 * an IBAN) is dropped. Identical spans of different specific types (Bearer JWT) are both kept.
 */
function resolveOverlaps(sorted: Pending[]): Pending[] {
  const dropped = new Uint8Array(sorted.length);
  for (let i = 0; i < sorted.length; i++) {
    const a = sorted[i];
    for (let j = i + 1; j < sorted.length && sorted[j].start < a.end; j++) {
      if (dropped[i]) break;
      if (dropped[j]) continue;
      const b = sorted[j];
      const aLen = a.end - a.start;
      const bLen = b.end - b.start;
      if (a.detector.infoType === b.detector.infoType) dropped[bLen > aLen ? i : j] = 1;
      else if (a.detector.generic && !b.detector.generic) dropped[i] = 1;
      else if (b.detector.generic && !a.detector.generic) dropped[j] = 1;
      else if (a.start <= b.start && a.end >= b.end && aLen > bLen) dropped[j] = 1;
      else if (b.start <= a.start && b.end >= a.end && bLen > aLen) dropped[i] = 1;
    }
  }
  return sorted.filter((_, i) => !dropped[i]);
}

/** Column statistics accumulated over table batches. */
export interface ColumnTally {
  sampledRows: number;
  /** infoType → matched rows and the sum of their best likelihood levels. */
  matches: Record<
    string,
    { rows: number; levelSum: number; category: Finding['category']; checksum: boolean }
  >;
}

export interface TableScanResult extends TextScanResult {
  /** column → tally for this batch. */
  tallies: Record<string, ColumnTally>;
}

/** [0-9a-f] */
const isHexishCode = (code: number): boolean => (code >= 48 && code <= 57) || (code >= 97 && code <= 102);
/** . - : / */
const isJoinerCode = (code: number): boolean => code === 46 || code === 45 || code === 58 || code === 47;

export class ScanEngine {
  readonly detectors: readonly CompiledDetector[];
  readonly minLevel: number;
  private readonly passes: Pass[];
  private readonly allowValues: Set<string>;
  private readonly allowPatterns: RegExp[];
  private readonly hasAllowList: boolean;
  private readonly fingerprint: (normalised: string[]) => string[];

  constructor(
    spec: RulesetSpec,
    private readonly key: Buffer,
  ) {
    const config = spec.config ?? EMPTY_CONFIG;
    this.fingerprint = fingerprinter(key);
    const builtins = selectBuiltins(spec.detectors).map(compileDetector);
    const custom = customDetectors(config).map(compileDetector);
    this.detectors = [...builtins, ...custom];
    this.minLevel = likelihoodLevel(spec.minLikelihood ?? DEFAULT_MIN_LIKELIHOOD);
    this.passes = [compilePass(builtins), compilePass(custom)].filter((p): p is Pass => p !== undefined);
    this.allowValues = new Set();
    this.allowPatterns = [];
    for (const entry of config.allowList) {
      if (typeof entry === 'string') {
        this.allowValues.add(entry);
        this.allowValues.add(entry.toLowerCase());
      } else this.allowPatterns.push(new RegExp(entry.regex));
    }
    this.hasAllowList = config.allowList.length > 0;
  }

  scanText(text: string, options: TextScanOptions): TextScanResult {
    const result: TextScanResult = { findings: [], overflow: {} };
    if (!text) return result;
    const reportFrom = Math.max(0, options.reportFrom ?? 0);
    const reportTo = Math.min(text.length, options.reportTo ?? text.length);
    const minLevel = options.minLevel ?? this.minLevel;
    const pending: Pending[] = [];
    const scan: TextScan = {
      text,
      contextPrefix: options.contextPrefix,
      minLevel,
      pending,
      contextStart: -1,
      context: '',
      lowerText: undefined,
      countOnly: (options.budget ?? Number.POSITIVE_INFINITY) <= 0,
    };
    for (let p = 0; p < this.passes.length; p++) {
      const pass = this.passes[p];
      // Per pattern: the end of its last match; a start before it lies inside that match, which a
      // global scan with the pattern would have consumed.
      const consumedTo = new Int32Array(pass.sticky.length);
      const found = pass.scanner.scan(text, p === 0 ? (options.newlinesTo ?? -1) : -1);
      if (p === 0 && options.newlinesTo !== undefined) result.newlines = found.newlines;
      const candidates = found.candidates;
      // (Two numbers per candidate in the scanner's array.)
      if (p === 0 && candidates.length / 2 >= text.length / LOWER_WHOLE_TEXT_EVERY) {
        const lower = text.toLowerCase();
        // U+0130 lower-cases to two characters; a capital sigma's lower case depends on what follows it.
        if (lower.length === text.length && !text.includes('\u03a3')) scan.lowerText = lower;
      }
      for (let i = 0; i < candidates.length; i += 2) {
        const alternative = candidates[i];
        const start = candidates[i + 1];
        if (start < consumedTo[alternative]) continue;
        const regex = pass.sticky[alternative];
        regex.lastIndex = start;
        // Without a value group, test() and lastIndex give the match without making a match array.
        let m: RegExpExecArray | null = null;
        const group = pass.valueGroup[alternative];
        if (group !== NO_VALUE_GROUP) {
          m = regex.exec(text);
          if (m === null) continue;
        } else if (!regex.test(text)) continue;
        const end = regex.lastIndex;
        if (end === start) continue;
        consumedTo[alternative] = end;
        // Context before reportFrom is scanned so that a match reported by the previous window is
        // consumed rather than re-entered in the middle; only matches starting in the range count.
        if (start < reportFrom || start >= reportTo) continue;
        let valueStart = start;
        let valueEnd = end;
        if (m !== null && m[1] !== undefined) {
          if (group === VALUE_GROUP_AT_END) valueStart = end - m[1].length;
          else {
            valueStart = m.indices![1][0];
            valueEnd = m.indices![1][1];
          }
        }
        for (const detector of pass.byAlternative[alternative])
          this.evaluate(detector, scan, start, valueStart, valueEnd);
      }
    }
    if (pending.length === 0) return result;
    // Candidates arrive in start order, so the built-ins' pending findings mostly are already sorted.
    if (!inOrder(pending)) pending.sort((a, b) => a.start - b.start || a.end - b.end);
    const kept = resolveOverlaps(pending);
    const baseOffset = options.baseOffset ?? 0;
    let budget = options.budget ?? Number.POSITIVE_INFINITY;
    let line = options.baseLine ?? 1;
    let lineCursor = 0;
    const normalised: string[] = [];
    for (const p of kept) {
      if (budget <= 0) {
        result.overflow[p.detector.infoType] = (result.overflow[p.detector.infoType] ?? 0) + 1;
        continue;
      }
      budget--;
      for (let i = text.indexOf('\n', lineCursor); i !== -1 && i < p.start; i = text.indexOf('\n', i + 1))
        line++;
      lineCursor = p.start;
      normalised.push(normaliseValue(p.value, p.detector.normalise));
      result.findings.push({
        infoType: p.detector.infoType,
        category: p.detector.category,
        likelihood: LIKELIHOODS[p.level],
        componentPath: options.componentPath,
        start: baseOffset + p.start,
        end: baseOffset + p.end,
        line,
        // Findings outlive the text (until the store write): the mask must not hold on to it.
        masked: unsliced(mask(p.value, p.detector.mask)),
        fingerprint: '',
        detectorVersion: p.detector.version,
      });
    }
    // One native call for the whole window's fingerprints.
    const fingerprints = this.fingerprint(normalised);
    for (let i = 0; i < fingerprints.length; i++) result.findings[i].fingerprint = fingerprints[i];
    return result;
  }

  /**
   * Evaluates one detector on a candidate match of its pattern in `scan.text` starting at `start`, whose
   * value (the value group, else the whole match) is text[valueStart, valueEnd).
   */
  private evaluate(
    detector: CompiledDetector,
    scan: TextScan,
    start: number,
    valueStart: number,
    valueEnd: number,
  ): void {
    const text = scan.text;
    let value = text.slice(valueStart, valueEnd);
    if (detector.refine) {
      const refined = detector.refine(value);
      if (refined === undefined) return;
      value = refined;
      valueEnd = valueStart + value.length;
    }
    if (detector.validate && !detector.validate(value)) return;
    if (detector.numeric && this.embedded(text, valueStart, valueEnd)) return;

    // Likelihood: the base level, or the hotword level with a hotword before the match, three levels less
    // with an exclusion before it, plus the value's own adjustments; reported from scan.minLevel.
    let delta = 0;
    if (detector.adjust) delta += detector.adjust(value);
    if (detector.excludeValue && detector.excludeValue(value)) delta -= 3;
    const min = scan.minLevel;
    let lo = detector.baseLevel + delta;
    let hi = detector.hotwords ? (detector.hotwordLevel ?? detector.baseLevel + 1) + delta : lo;
    let level: number;
    if (scan.countOnly) {
      // The findings will only be counted: a context test runs only when its answer decides whether this
      // one counts (typically the exclusion does, and the hotword, which only raises, does not).
      if (
        detector.exclude &&
        (counts(lo, min) !== counts(lo - 3, min) || counts(hi, min) !== counts(hi - 3, min)) &&
        detector.exclude.test(this.context(scan, start))
      ) {
        lo -= 3;
        hi -= 3;
      }
      if (counts(lo, min) === counts(hi, min)) level = lo;
      else level = detector.hotwords!.test(this.context(scan, start)) ? hi : lo;
    } else {
      level = lo;
      if (detector.hotwords || detector.exclude) {
        const before = this.context(scan, start);
        if (detector.hotwords && detector.hotwords.test(before)) level = hi;
        if (detector.exclude && detector.exclude.test(before)) level -= 3;
      }
    }
    level = Math.max(0, Math.min(4, level));
    if (level < min) return;
    if (this.hasAllowList && this.allowed(value, normaliseValue(value, detector.normalise))) return;
    scan.pending.push({ detector, start: valueStart, end: valueEnd, value, level });
  }

  /** Lower-cased context before `start` (the table's column name first), made once per start. */
  private context(scan: TextScan, start: number): string {
    if (scan.contextStart !== start) {
      scan.contextStart = start;
      const from = Math.max(0, start - HOTWORD_WINDOW);
      if (scan.lowerText !== undefined) {
        const before = scan.lowerText.slice(from, start);
        scan.context = scan.contextPrefix === undefined ? before : scan.contextPrefix.toLowerCase() + before;
      } else {
        const before = scan.text.slice(from, start);
        scan.context = (
          scan.contextPrefix === undefined ? before : scan.contextPrefix + before
        ).toLowerCase();
      }
    }
    return scan.context;
  }

  /** A numeric value inside a longer token: UUID groups, dotted versions/OIDs, hex strings. */
  private embedded(text: string, start: number, end: number): boolean {
    // Char codes, not one-character strings and regex tests: this runs for every numeric candidate.
    const before = start > 0 ? text.charCodeAt(start - 1) : -1;
    const after = end < text.length ? text.charCodeAt(end) : -1;
    if (isWordCode(before) || isWordCode(after)) return true;
    if (isJoinerCode(before) && start > 1 && isHexishCode(text.charCodeAt(start - 2))) return true;
    if (isJoinerCode(after) && end + 1 < text.length && isHexishCode(text.charCodeAt(end + 1))) return true;
    return false;
  }

  private allowed(value: string, normalised: string): boolean {
    if (this.allowValues.size && (this.allowValues.has(value) || this.allowValues.has(normalised)))
      return true;
    for (const pattern of this.allowPatterns) if (pattern.test(value)) return true;
    return false;
  }

  /**
   * Scans a batch of table rows cell by cell, with the column name as context. Cells are scanned
   * down to UNLIKELY for column statistics; findings are reported at the ruleset minimum.
   */
  scanTable(
    columns: string[],
    rows: unknown[][],
    options: { componentPath: string; rowOffset?: number; budget?: number },
  ): TableScanResult {
    const result: TableScanResult = { findings: [], overflow: {}, tallies: {} };
    let budget = options.budget ?? Number.POSITIVE_INFINITY;
    const tallyLevel = Math.min(this.minLevel, 1);
    const prefixes = columns.map((c) => `${String(c).replace(/[_\-.]+/g, ' ')}: `);
    for (const column of columns) result.tallies[column] = { sampledRows: 0, matches: {} };
    for (let r = 0; r < rows.length; r++) {
      const row = rows[r];
      const rowIndex = (options.rowOffset ?? 0) + r;
      for (let c = 0; c < columns.length; c++) {
        const cell = cellText(row[c]);
        if (!cell) continue;
        const tally = result.tallies[columns[c]];
        tally.sampledRows++;
        const scanned = this.scanText(cell, {
          componentPath: options.componentPath,
          baseLine: rowIndex + 1,
          contextPrefix: prefixes[c],
          minLevel: tallyLevel,
        });
        const best: Record<string, { level: number; category: Finding['category']; checksum: boolean }> = {};
        for (const finding of scanned.findings) {
          const level = likelihoodLevel(finding.likelihood);
          const seen = best[finding.infoType];
          if (!seen || level > seen.level) {
            const checksum = this.detectors.some((d) => d.infoType === finding.infoType && d.checksum);
            best[finding.infoType] = { level, category: finding.category, checksum };
          }
          if (level < this.minLevel) continue;
          if (budget <= 0) {
            result.overflow[finding.infoType] = (result.overflow[finding.infoType] ?? 0) + 1;
            continue;
          }
          budget--;
          result.findings.push({ ...finding, column: columns[c], row: rowIndex });
        }
        for (const [infoType, { level, category, checksum }] of Object.entries(best)) {
          const entry = (tally.matches[infoType] ??= { rows: 0, levelSum: 0, category, checksum });
          entry.rows++;
          entry.levelSum += level;
        }
      }
    }
    return result;
  }
}

/** Text of a table cell: strings as is, numbers/dates/JSON rendered, binary skipped. */
export function cellText(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean')
    return String(value);
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? '' : value.toISOString().slice(0, 10);
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) {
    const text = Buffer.from(value).toString('utf8');
    // eslint-disable-next-line no-control-regex
    return /[\x00-\x08\x0e-\x1f\ufffd]/.test(text) ? '' : text;
  }
  try {
    return JSON.stringify(value)?.slice(0, 65536) ?? '';
  } catch {
    return '';
  }
}

/** Merges a batch's tallies into running ones. */
export function mergeTallies(into: Record<string, ColumnTally>, from: Record<string, ColumnTally>): void {
  for (const [column, tally] of Object.entries(from)) {
    const target = (into[column] ??= { sampledRows: 0, matches: {} });
    target.sampledRows += tally.sampledRows;
    for (const [infoType, m] of Object.entries(tally.matches)) {
      const t = (target.matches[infoType] ??= {
        rows: 0,
        levelSum: 0,
        category: m.category,
        checksum: m.checksum,
      });
      t.rows += m.rows;
      t.levelSum += m.levelSum;
    }
  }
}

/**
 * Column verdicts: the mean cell likelihood, raised one level when the column is consistently of the
 * type (≥ 80% of values, ≥ 3 rows) and the type is checksum-validated or already POSSIBLE, lowered when
 * it is rare (< 20%).
 */
export function columnResults(
  componentPath: string,
  tallies: Record<string, ColumnTally>,
  minLikelihood: Likelihood,
): ColumnClassification[] {
  const out: ColumnClassification[] = [];
  const minLevel = likelihoodLevel(minLikelihood);
  for (const [column, tally] of Object.entries(tallies)) {
    for (const [infoType, m] of Object.entries(tally.matches)) {
      const ratio = tally.sampledRows ? m.rows / tally.sampledRows : 0;
      let level = Math.round(m.levelSum / m.rows);
      if (ratio >= 0.8 && m.rows >= 3 && (m.checksum || level >= 2)) level++;
      if (ratio < 0.2) level--;
      level = Math.max(0, Math.min(4, level));
      if (level < minLevel) continue;
      out.push({
        componentPath,
        column,
        infoType,
        category: m.category,
        matchedRows: m.rows,
        sampledRows: tally.sampledRows,
        ratio: Math.round(ratio * 10000) / 10000,
        likelihood: LIKELIHOODS[level],
      });
    }
  }
  return out.sort((a, b) => a.column.localeCompare(b.column) || b.matchedRows - a.matchedRows);
}
