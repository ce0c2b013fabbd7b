/**
 * Custom detector configuration (JSON or YAML):
 *
 * ```yaml
 * detectors:
 *   - infoType: EMPLOYEE_ID        # required, [A-Z0-9_]+
 *     regex: 'EMP-\d{6}'           # required, RE2 syntax; one optional capture group = the value
 *     keywords: [employee, staff]  # hotwords in the 50 chars before (or the column name): +1 level
 *     validator: luhn              # optional: luhn, mod97, iban, verhoeff, aba, cpf, bsn, nhs, …
 *     likelihood: POSSIBLE         # likelihood without keywords (default POSSIBLE)
 *     category: PII                # default PII
 *     ignoreCase: false
 *     description: Staff number
 * allowList:                       # values never reported (exact value, or {regex})
 *   - test@example.com
 *   - regex: '^.*@example\.org$'
 * denyList:                        # values always reported, VERY_LIKELY
 *   - value: Project Zeus
 *     infoType: CODENAME           # default DENY_LIST
 *     category: PII
 *   - regex: 'ACME-\d{4}'
 * ```
 */

import { readFile } from 'node:fs/promises';
import { patternError } from './native-scan';
import YAML from 'yaml';
import { ConfigurationError } from '../core/errors';
import { LIKELIHOODS, type InfoTypeCategory, type Likelihood } from './types';
import { NAMED_VALIDATORS } from './validators';

export const CATEGORIES: readonly InfoTypeCategory[] = [
  'PII',
  'FINANCIAL',
  'GOVERNMENT_ID',
  'HEALTH',
  'CREDENTIAL',
  'NETWORK',
];

export interface CustomDetectorConfig {
  infoType: string;
  regex: string;
  keywords?: string[];
  validator?: string;
  likelihood?: Likelihood;
  category?: InfoTypeCategory;
  ignoreCase?: boolean;
  description?: string;
}

export type AllowEntry = string | { regex: string };
export interface DenyEntry {
  value?: string;
  regex?: string;
  infoType?: string;
  category?: InfoTypeCategory;
}

/** Parsed, validated configuration: plain JSON so it can be sent to worker threads. */
export interface ClassificationConfig {
  detectors: CustomDetectorConfig[];
  allowList: AllowEntry[];
  denyList: DenyEntry[];
}

export const EMPTY_CONFIG: ClassificationConfig = { detectors: [], allowList: [], denyList: [] };

export async function loadClassificationConfig(file: string): Promise<ClassificationConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new ConfigurationError(`cannot read classification config ${file}: ${(error as Error).message}`, {
      file,
    });
  }
  let parsed: unknown;
  try {
    parsed = /\.json$/i.test(file) ? JSON.parse(text) : YAML.parse(text);
  } catch (error) {
    throw new ConfigurationError(`classification config ${file} is not valid: ${(error as Error).message}`, {
      file,
    });
  }
  return parseClassificationConfig(parsed ?? {}, file);
}

function fail(where: string, message: string): never {
  throw new ConfigurationError(`classification config ${where}: ${message}`, { file: where });
}

function checkRegex(where: string, source: string): void {
  const problem = patternError(source);
  if (problem !== undefined)
    fail(where, `invalid regex ${JSON.stringify(source)} (RE2 syntax, no lookaround): ${problem}`);
  let js: RegExp;
  try {
    js = new RegExp(source);
  } catch (error) {
    fail(where, `invalid regex ${JSON.stringify(source)}: ${(error as Error).message}`);
  }
  if (js.test('')) fail(where, `regex ${JSON.stringify(source)} matches the empty string`);
}

export function parseClassificationConfig(input: unknown, where = 'config'): ClassificationConfig {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) fail(where, 'must be an object');
  const raw = input as Record<string, unknown>;
  for (const key of Object.keys(raw)) {
    if (!['detectors', 'allowList', 'denyList'].includes(key)) fail(where, `unknown key "${key}"`);
  }
  const detectors: CustomDetectorConfig[] = [];
  const list = (key: string): unknown[] => {
    const value = raw[key] ?? [];
    if (!Array.isArray(value)) fail(where, `"${key}" must be a list`);
    return value;
  };
  list('detectors').forEach((item, i) => {
    const at = `${where} detectors[${i}]`;
    if (typeof item !== 'object' || item === null) fail(at, 'must be an object');
    const d = item as Record<string, unknown>;
    if (typeof d.infoType !== 'string' || !/^[A-Z][A-Z0-9_]*$/.test(d.infoType))
      fail(at, 'infoType must be UPPER_SNAKE_CASE');
    if (typeof d.regex !== 'string' || !d.regex) fail(at, 'regex is required');
    checkRegex(at, d.regex);
    if (
      d.keywords !== undefined &&
      (!Array.isArray(d.keywords) || d.keywords.some((k) => typeof k !== 'string'))
    )
      fail(at, 'keywords must be a list of strings');
    if (d.validator !== undefined && (typeof d.validator !== 'string' || !NAMED_VALIDATORS[d.validator]))
      fail(
        at,
        `unknown validator "${String(d.validator)}" (one of ${Object.keys(NAMED_VALIDATORS).join(', ')})`,
      );
    if (d.likelihood !== undefined && !LIKELIHOODS.includes(d.likelihood as Likelihood))
      fail(at, `likelihood must be one of ${LIKELIHOODS.join(', ')}`);
    if (d.category !== undefined && !CATEGORIES.includes(d.category as InfoTypeCategory))
      fail(at, `category must be one of ${CATEGORIES.join(', ')}`);
    detectors.push({
      infoType: d.infoType,
      regex: d.regex,
      keywords: d.keywords as string[] | undefined,
      validator: d.validator as string | undefined,
      likelihood: d.likelihood as Likelihood | undefined,
      category: d.category as InfoTypeCategory | undefined,
      ignoreCase: d.ignoreCase === true,
      description: typeof d.description === 'string' ? d.description : undefined,
    });
  });
  const allowList: AllowEntry[] = list('allowList').map((item, i) => {
    const at = `${where} allowList[${i}]`;
    if (typeof item === 'string') return item;
    if (
      typeof item === 'object' &&
      item !== null &&
      typeof (item as { regex?: unknown }).regex === 'string'
    ) {
      checkRegex(at, (item as { regex: string }).regex);
      return { regex: (item as { regex: string }).regex };
    }
    return fail(at, 'must be a string or {regex}');
  });
  const denyList: DenyEntry[] = list('denyList').map((item, i) => {
    const at = `${where} denyList[${i}]`;
    const entry: DenyEntry = typeof item === 'string' ? { value: item } : { ...(item as DenyEntry) };
    if (typeof entry !== 'object' || (!entry.value && !entry.regex)) fail(at, 'needs a value or a regex');
    if (entry.regex) checkRegex(at, entry.regex);
    if (entry.infoType !== undefined && !/^[A-Z][A-Z0-9_]*$/.test(entry.infoType))
      fail(at, 'infoType must be UPPER_SNAKE_CASE');
    if (entry.category !== undefined && !CATEGORIES.includes(entry.category)) fail(at, 'unknown category');
    return entry;
  });
  return { detectors, allowList, denyList };
}
