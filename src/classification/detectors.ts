/**
 * The built-in detector catalogue. infoType names follow Google Cloud Sensitive Data Protection's
 * built-in names where one exists. Patterns are written in the common subset of RE2 and JavaScript
 * syntax (no lookaround, no backreferences) because the engine finds candidates for all of them in one
 * native pass (RE2 semantics) and then confirms each with the detector's own JavaScript regex.
 */

import type { InfoTypeCategory, Likelihood } from './types';
import * as v from './validators';

export type MaskStyle = 'digits' | 'email' | 'secret' | 'password' | 'tail';
export type Normalisation = 'digits' | 'compact' | 'lower' | 'raw';

export interface Detector {
  /** Unique detector id; several detectors may report one infoType (IPv4 and IPv6 → IP_ADDRESS). */
  id: string;
  infoType: string;
  category: InfoTypeCategory;
  version: string;
  description: string;
  /** RE2- and JS-compatible source; an optional single capture group marks the value inside context. */
  pattern: string;
  /** Case-insensitive pattern. */
  ignoreCase?: boolean;
  /** Checksum/structure check on the value; a failing value is dropped. */
  validate?: (value: string) => boolean;
  /**
   * For patterns that may over-match at the end (IBAN groups followed by an upper-case word): returns
   * the accepted prefix of the value, or undefined to drop it.
   */
  refine?: (value: string) => string | undefined;
  /** Likelihood of a valid match without supporting context. */
  base: Likelihood;
  /** Context words (lower case) in the window before the match, or in the column name. */
  hotwords?: RegExp;
  /** Likelihood when a hotword is present (default: one level above base). */
  withHotword?: Likelihood;
  /** Context (lower case, window before) that makes the match unlikely: lowers three levels. */
  exclude?: ContextTest;
  /** Value-level look-alikes (placeholders, example keys): lowers three levels. */
  excludeValue?: (value: string) => boolean;
  /** Numeric identifiers: dropped when embedded in a longer dotted/dashed token (UUIDs, versions, OIDs). */
  numeric?: boolean;
  /** Broad detectors (phone, password, generic secret) that yield to any overlapping specific finding. */
  generic?: boolean;
  /** Extra adjustment in levels from the value itself (e.g. entropy). */
  adjust?: (value: string) => number;
  mask: MaskStyle;
  normalise: Normalisation;
}

/** A test of the lower-cased context before a match: a RegExp, or code that answers as one would. */
export interface ContextTest {
  test(context: string): boolean;
}

/** Context that marks a number as an order/invoice/version/timestamp rather than an identifier. */
export const NUMERIC_EXCLUDE_PATTERN =
  /\b(?:order|invoice|tracking|ref(?:erence)?|transaction|txn|confirmation|ticket|build|version|ver\.?|release|sku|part|serial|isbn|timestamp|epoch|created_at|updated_at|po)\s*(?:no\.?|number|num|id|#)?\s*[:#=]?\s*["']?$/;

/** Words by their last character. */
function byLastChar(words: string[]): Array<string[] | undefined> {
  const table: Array<string[] | undefined> = [];
  for (const word of words) (table[word.charCodeAt(word.length - 1)] ??= []).push(word);
  return table;
}

const REFERENCE_LABELS = byLastChar([
  'order', 'invoice', 'tracking', 'ref', 'reference', 'transaction', 'txn', 'confirmation', 'ticket', 'build',
  'version', 'ver', 'ver.', 'release', 'sku', 'part', 'serial', 'isbn', 'timestamp', 'epoch', 'created_at',
  'updated_at', 'po',
]); // prettier-ignore
const REFERENCE_SUFFIXES = byLastChar(['no', 'no.', 'number', 'num', 'id', '#']);
const NO_WORDS: readonly string[] = [];

/** JavaScript's \s. */
function isSpaceCode(code: number): boolean {
  return (
    code === 32 ||
    (code >= 9 && code <= 13) ||
    code === 0xa0 ||
    code === 0x1680 ||
    (code >= 0x2000 && code <= 0x200a) ||
    code === 0x2028 ||
    code === 0x2029 ||
    code === 0x202f ||
    code === 0x205f ||
    code === 0x3000 ||
    code === 0xfeff
  );
}

function backOverSpaces(context: string, at: number): number {
  while (at > 0 && isSpaceCode(context.charCodeAt(at - 1))) at--;
  return at;
}

/** A reference label ends at `at`, starting at a word boundary. */
function labelEndsAt(context: string, at: number): boolean {
  for (const label of REFERENCE_LABELS[context.charCodeAt(at - 1)] ?? NO_WORDS) {
    const start = at - label.length;
    if (start < 0 || !context.startsWith(label, start)) continue;
    if (start === 0 || !v.isWordCode(context.charCodeAt(start - 1))) return true;
  }
  return false;
}

/** A label, then optionally white space and a suffix (no., number, #...), ends at `at`. */
function labelWithSuffixEndsAt(context: string, at: number): boolean {
  if (labelEndsAt(context, at)) return true;
  for (const suffix of REFERENCE_SUFFIXES[context.charCodeAt(at - 1)] ?? NO_WORDS) {
    const start = at - suffix.length;
    if (
      start >= 0 &&
      context.startsWith(suffix, start) &&
      labelEndsAt(context, backOverSpaces(context, start))
    )
      return true;
  }
  return false;
}

/**
 * NUMERIC_EXCLUDE_PATTERN.test(context), read from the end: the regex, anchored at the end, is tried from
 * every position of the context, for every numeric candidate. Read backwards, each run of white space must
 * be taken whole (nothing else ends in white space), a final quote, ':' or '=' can only be the pattern's,
 * and only '#' (separator or suffix) and the suffixes leave a choice.
 */
export const NUMERIC_EXCLUDE: ContextTest = {
  test(context: string): boolean {
    let at = context.length;
    const last = context.charCodeAt(at - 1);
    if (last === 34 || last === 39) at--;
    at = backOverSpaces(context, at);
    const separator = context.charCodeAt(at - 1);
    if (separator === 58 || separator === 61)
      return labelWithSuffixEndsAt(context, backOverSpaces(context, at - 1));
    if (separator === 35 && labelWithSuffixEndsAt(context, backOverSpaces(context, at - 1))) return true;
    return labelWithSuffixEndsAt(context, at);
  },
};

const SECRET_PLACEHOLDER =
  /^(?:\*+|x+|\.+|<[^>]*>|\$\{?[A-Za-z_][A-Za-z0-9_]*\}?|%\(?[a-z_]*\)?s|\{\{.*\}\}|null|none|nil|undefined|true|false|password|secret|changeit|your[_-]?\w*|example\w*|redacted|hidden|placeholder|process\.env\.\w+|os\.environ.*|env\(.*)$/i;

function isPlaceholder(value: string): boolean {
  return SECRET_PLACEHOLDER.test(value) || /^(.)\1+$/.test(value);
}

/** Secrets that look random get a boost; dictionary-like ones a penalty. */
function entropyAdjust(value: string): number {
  const bits = v.entropy(value);
  const classes = [/[a-z]/, /[A-Z]/, /\d/, /[^A-Za-z0-9]/].filter((re) => re.test(value)).length;
  if (bits >= 4 && classes >= 3) return 1;
  if (bits < 3 || classes < 2) return -2;
  return 0;
}

const V = '1.0.0';

export const BUILTIN_DETECTORS: readonly Detector[] = [
  // ---------------------------------------------------------------- credentials (literal prefixes)
  {
    id: 'ENCRYPTION_KEY',
    infoType: 'ENCRYPTION_KEY',
    category: 'CREDENTIAL',
    version: V,
    description: 'PEM/OpenSSH/PGP private key block (or its header when the block is cut)',
    pattern:
      '-----BEGIN (?:[A-Z]{2,10} )?PRIVATE KEY(?: BLOCK)?-----(?:[A-Za-z0-9+/=\\s:,._-]*?-----END (?:[A-Z]{2,10} )?PRIVATE KEY(?: BLOCK)?-----)?',
    base: 'VERY_LIKELY',
    mask: 'secret',
    normalise: 'raw',
  },
  {
    id: 'AWS_ACCESS_KEY_ID',
    infoType: 'AWS_CREDENTIALS',
    category: 'CREDENTIAL',
    version: V,
    description: 'AWS access key id (AKIA…/ASIA…)',
    pattern: '\\b(?:AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|ABIA|ACCA)[A-Z2-7]{16}\\b',
    base: 'VERY_LIKELY',
    excludeValue: (value) => value.endsWith('EXAMPLE'),
    mask: 'secret',
    normalise: 'raw',
  },
  {
    id: 'AWS_SECRET_ACCESS_KEY',
    infoType: 'AWS_CREDENTIALS',
    category: 'CREDENTIAL',
    version: V,
    description: 'AWS secret access key assigned to an aws…secret… key',
    pattern:
      '\\baws[a-z0-9_.-]{0,20}(?:secret|sk)[a-z0-9_.-]{0,20}["\']?\\s*[:=]\\s*["\']?([A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+]|$)',
    ignoreCase: true,
    base: 'VERY_LIKELY',
    excludeValue: (value) => /EXAMPLEKEY$/.test(value),
    mask: 'secret',
    normalise: 'raw',
  },
  {
    id: 'GCP_API_KEY',
    infoType: 'GCP_API_KEY',
    category: 'CREDENTIAL',
    version: V,
    description: 'Google Cloud API key (AIza…)',
    pattern: '\\bAIza[0-9A-Za-z_-]{35}',
    base: 'VERY_LIKELY',
    mask: 'secret',
    normalise: 'raw',
  },
  {
    id: 'GOOGLE_OAUTH_ACCESS_TOKEN',
    infoType: 'GOOGLE_OAUTH_ACCESS_TOKEN',
    category: 'CREDENTIAL',
    version: V,
    description: 'Google OAuth 2.0 access token (ya29.…)',
    pattern: '\\bya29\\.[0-9A-Za-z_-]{20,}',
    base: 'VERY_LIKELY',
    mask: 'secret',
    normalise: 'raw',
  },
  {
    id: 'OAUTH_CLIENT_SECRET',
    infoType: 'OAUTH_CLIENT_SECRET',
    category: 'CREDENTIAL',
    version: V,
    description: 'Google OAuth client secret (GOCSPX-…)',
    pattern: '\\bGOCSPX-[0-9A-Za-z_-]{28}',
    base: 'VERY_LIKELY',
    mask: 'secret',
    normalise: 'raw',
  },
  {
    id: 'JSON_WEB_TOKEN',
    infoType: 'JSON_WEB_TOKEN',
    category: 'CREDENTIAL',
    version: V,
    description: 'JSON Web Token whose header decodes to JSON with "alg"',
    pattern: '\\beyJ[A-Za-z0-9_-]{8,}\\.eyJ[A-Za-z0-9_-]{8,}\\.[A-Za-z0-9_-]{8,}',
    validate: v.jwt,
    base: 'VERY_LIKELY',
    mask: 'secret',
    normalise: 'raw',
  },
  {
    id: 'GITHUB_TOKEN',
    infoType: 'GITHUB_TOKEN',
    category: 'CREDENTIAL',
    version: V,
    description: 'GitHub personal access / OAuth / app token (ghp_, gho_, ghu_, ghs_, ghr_, github_pat_)',
    pattern: '\\b(?:gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{82})\\b',
    base: 'VERY_LIKELY',
    mask: 'secret',
    normalise: 'raw',
  },
  {
    id: 'GITLAB_TOKEN',
    infoType: 'GITLAB_TOKEN',
    category: 'CREDENTIAL',
    version: V,
    description: 'GitLab personal access token (glpat-…)',
    pattern: '\\bglpat-[A-Za-z0-9_-]{20}\\b',
    base: 'VERY_LIKELY',
    mask: 'secret',
    normalise: 'raw',
  },
  {
    id: 'SLACK_TOKEN',
    infoType: 'SLACK_TOKEN',
    category: 'CREDENTIAL',
    version: V,
    description: 'Slack bot/user/app token (xoxb-, xoxp-, xoxa-, xoxr-, xoxs-)',
    pattern: '\\bxox[abprs]-[0-9]{6,}-[A-Za-z0-9-]{8,}',
    base: 'VERY_LIKELY',
    mask: 'secret',
    normalise: 'raw',
  },
  {
    id: 'SLACK_WEBHOOK_URL',
    infoType: 'SLACK_WEBHOOK_URL',
    category: 'CREDENTIAL',
    version: V,
    description: 'Slack incoming webhook URL',
    pattern: 'https://hooks\\.slack\\.com/services/T[A-Z0-9]{6,}/B[A-Z0-9]{6,}/[A-Za-z0-9]{16,}',
    base: 'VERY_LIKELY',
    mask: 'secret',
    normalise: 'raw',
  },
  {
    id: 'STRIPE_API_KEY',
    infoType: 'STRIPE_API_KEY',
    category: 'CREDENTIAL',
    version: V,
    description: 'Stripe secret or restricted key (sk_live_, rk_live_, sk_test_)',
    pattern: '\\b(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{24,99}\\b',
    base: 'VERY_LIKELY',
    mask: 'secret',
    normalise: 'raw',
  },
  {
    id: 'SENDGRID_API_KEY',
    infoType: 'SENDGRID_API_KEY',
    category: 'CREDENTIAL',
    version: V,
    description: 'SendGrid API key (SG.xxx.yyy)',
    pattern: '\\bSG\\.[A-Za-z0-9_-]{22}\\.[A-Za-z0-9_-]{43}\\b',
    base: 'VERY_LIKELY',
    mask: 'secret',
    normalise: 'raw',
  },
  {
    id: 'NPM_TOKEN',
    infoType: 'NPM_TOKEN',
    category: 'CREDENTIAL',
    version: V,
    description: 'npm access token (npm_…)',
    pattern: '\\bnpm_[A-Za-z0-9]{36}\\b',
    base: 'VERY_LIKELY',
    mask: 'secret',
    normalise: 'raw',
  },
  {
    id: 'OPENAI_API_KEY',
    infoType: 'OPENAI_API_KEY',
    category: 'CREDENTIAL',
    version: V,
    description: 'OpenAI API key (sk-…T3BlbkFJ…, sk-proj-…)',
    pattern:
      '\\bsk-(?:(?:proj|svcacct|admin)-[A-Za-z0-9_-]{40,200}|[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20})(?:[^A-Za-z0-9_-]|$)',
    refine: (value) => /^sk-[A-Za-z0-9_-]+/.exec(value)?.[0],
    base: 'VERY_LIKELY',
    mask: 'secret',
    normalise: 'raw',
  },
  {
    id: 'TWILIO_API_KEY',
    infoType: 'TWILIO_API_KEY',
    category: 'CREDENTIAL',
    version: V,
    description: 'Twilio API key SID (SK + 32 hex), likely with "twilio" nearby',
    pattern: '\\bSK[0-9a-f]{32}\\b',
    base: 'LIKELY',
    hotwords: /twilio/,
    withHotword: 'VERY_LIKELY',
    mask: 'secret',
    normalise: 'raw',
  },
  {
    id: 'AZURE_STORAGE_ACCOUNT_KEY',
    infoType: 'AZURE_STORAGE_ACCOUNT_KEY',
    category: 'CREDENTIAL',
    version: V,
    description: 'Azure storage account key in a connection string (AccountKey=…)',
    pattern: '\\bAccountKey=([A-Za-z0-9+/]{86}==)',
    ignoreCase: true,
    base: 'VERY_LIKELY',
    mask: 'secret',
    normalise: 'raw',
  },
  {
    id: 'BASIC_AUTH_HEADER',
    infoType: 'BASIC_AUTH_HEADER',
    category: 'CREDENTIAL',
    version: V,
    description: 'HTTP Authorization: Basic header whose payload decodes to user:password',
    pattern: '\\bauthorization["\']?\\s*[:=]\\s*["\']?basic\\s+([A-Za-z0-9+/]{8,}={0,2})',
    ignoreCase: true,
    validate: (value) => /^[\x20-\x7e]+:[\x20-\x7e]*$/.test(Buffer.from(value, 'base64').toString('latin1')),
    base: 'VERY_LIKELY',
    mask: 'secret',
    normalise: 'raw',
  },
  {
    id: 'AUTH_TOKEN',
    infoType: 'AUTH_TOKEN',
    category: 'CREDENTIAL',
    version: V,
    description: 'Bearer token (Authorization: Bearer …)',
    pattern: '\\bbearer\\s+([A-Za-z0-9._~+/-]{20,}=*)',
    ignoreCase: true,
    base: 'LIKELY',
    hotwords: /authori[sz]ation|header|token/,
    withHotword: 'VERY_LIKELY',
    excludeValue: isPlaceholder,
    mask: 'secret',
    normalise: 'raw',
  },
  {
    id: 'URL_WITH_CREDENTIALS',
    infoType: 'URL_WITH_CREDENTIALS',
    category: 'CREDENTIAL',
    version: V,
    description: 'URL with an embedded user:password (scheme://user:pass@host)',
    pattern: '\\b[a-z][a-z0-9+.-]{1,15}://[^\\s:/@"\'<>]{1,128}:[^\\s/@"\'<>]{1,256}@[A-Za-z0-9.-]+',
    ignoreCase: true,
    base: 'VERY_LIKELY',
    excludeValue: (value) => {
      const password = /:\/\/[^:]*:([^@]*)@/.exec(value)?.[1] ?? '';
      return isPlaceholder(password);
    },
    mask: 'secret',
    normalise: 'raw',
  },
  {
    id: 'PASSWORD',
    generic: true,
    infoType: 'PASSWORD',
    category: 'CREDENTIAL',
    version: V,
    description: 'Password assigned in configuration or code (password: …, PASSWORD=…, "pwd": "…")',
    pattern:
      '\\b(?:[a-z0-9]+[_.-])?(?:password|passwd|passphrase|pwd|pass)["\']?\\s*(?:[:=]|=>|:=)\\s*["\']?([^\\s"\',;<>]{4,128})',
    ignoreCase: true,
    base: 'LIKELY',
    excludeValue: (value) => isPlaceholder(value) || /^(?:\$|%|\{|@)/.test(value),
    adjust: (value) => (v.entropy(value) >= 3.5 ? 1 : 0),
    mask: 'password',
    normalise: 'raw',
  },
  {
    id: 'GENERIC_SECRET',
    generic: true,
    infoType: 'GENERIC_SECRET',
    category: 'CREDENTIAL',
    version: V,
    description: 'High-entropy value assigned to a secret/api key/token/access key name',
    pattern:
      '\\b[a-z0-9_.-]{0,30}(?:secret|api[_-]?key|apikey|access[_-]?key|private[_-]?key|auth[_-]?key|token|credential)s?["\']?\\s*(?:[:=]|=>|:=)\\s*["\']?([A-Za-z0-9_+/=.-]{16,256})',
    ignoreCase: true,
    base: 'POSSIBLE',
    exclude: /(?:sha\d*|md5|hash|checksum|digest|commit|etag|uuid|guid)[^\n]{0,30}$/,
    excludeValue: (value) =>
      isPlaceholder(value) ||
      /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value) ||
      /^(?:[0-9a-f]{32}|[0-9a-f]{40}|[0-9a-f]{64})$/i.test(value),
    adjust: entropyAdjust,
    mask: 'secret',
    normalise: 'raw',
  },
  // ---------------------------------------------------------------- health / context-anchored
  {
    id: 'MEDICAL_RECORD_NUMBER',
    infoType: 'MEDICAL_RECORD_NUMBER',
    category: 'HEALTH',
    version: V,
    description: 'Medical record number introduced by MRN / medical record / patient id',
    pattern:
      '\\b(?:mrn|medical\\s+record(?:\\s+(?:number|no\\.?|#))?|patient\\s+(?:id|number|no\\.?))\\s*[:#=]?\\s*([A-Z]{0,3}-?\\d{6,10})\\b',
    ignoreCase: true,
    base: 'LIKELY',
    mask: 'tail',
    normalise: 'compact',
  },
  // ---------------------------------------------------------------- financial
  {
    id: 'IBAN_CODE',
    infoType: 'IBAN_CODE',
    category: 'FINANCIAL',
    version: V,
    description: 'International bank account number (country length + ISO 7064 mod 97)',
    pattern: '\\b[A-Z]{2}\\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\\b',
    // The IBAN ends where its country's length is reached (spaces aside), not before an alphanumeric.
    refine: (value) => {
      const length = v.ibanLength(value.charCodeAt(0), value.charCodeAt(1));
      if (!length) return undefined;
      let count = 0;
      for (let i = 0; i < value.length; i++) {
        if (value.charCodeAt(i) !== 32) count++;
        if (count === length) {
          const next = value.charCodeAt(i + 1);
          if ((next >= 48 && next <= 57) || (next >= 65 && next <= 90)) return undefined;
          return v.ibanBefore(value, i + 1) ? value.slice(0, i + 1) : undefined;
        }
      }
      return undefined;
    },
    base: 'VERY_LIKELY',
    mask: 'tail',
    normalise: 'compact',
  },
  {
    id: 'CREDIT_CARD_NUMBER',
    infoType: 'CREDIT_CARD_NUMBER',
    category: 'FINANCIAL',
    version: V,
    description: 'Payment card number (issuer prefix + Luhn)',
    pattern:
      '\\b(?:\\d{4}[ -]?){3}\\d{4}(?:\\d{3})?\\b|\\b\\d{4}[ -]?\\d{6}[ -]?\\d{4,5}\\b|\\b\\d{13,19}\\b',
    validate: v.creditCard,
    base: 'LIKELY',
    hotwords: /card|visa|master|amex|credit|debit|\bcc\b|pan\b|payment/,
    withHotword: 'VERY_LIKELY',
    exclude: NUMERIC_EXCLUDE,
    numeric: true,
    mask: 'digits',
    normalise: 'digits',
  },
  {
    id: 'SWIFT_CODE',
    infoType: 'SWIFT_CODE',
    category: 'FINANCIAL',
    version: V,
    description: 'SWIFT/BIC code (needs "swift"/"bic" nearby)',
    pattern: '\\b[A-Z]{6}[A-Z0-9]{2}(?:[A-Z0-9]{3})?\\b',
    validate: v.swiftCode,
    base: 'VERY_UNLIKELY',
    hotwords: /swift|\bbic\b|bank identifier|sort code/,
    withHotword: 'LIKELY',
    mask: 'tail',
    normalise: 'compact',
  },
  {
    id: 'US_BANK_ROUTING_MICR',
    infoType: 'US_BANK_ROUTING_MICR',
    category: 'FINANCIAL',
    version: V,
    description: 'ABA routing transit number (checksum + Federal Reserve prefix; needs context)',
    pattern: '\\b\\d{9}\\b',
    validate: v.abaRouting,
    base: 'UNLIKELY',
    hotwords: /routing|\baba\b|\brtn\b|transit|micr/,
    withHotword: 'LIKELY',
    exclude: NUMERIC_EXCLUDE,
    numeric: true,
    mask: 'digits',
    normalise: 'digits',
  },
  // ---------------------------------------------------------------- government ids
  {
    id: 'US_SOCIAL_SECURITY_NUMBER',
    infoType: 'US_SOCIAL_SECURITY_NUMBER',
    category: 'GOVERNMENT_ID',
    version: V,
    description: 'US SSN (area/group/serial rules; undelimited needs context)',
    pattern: '\\b\\d{3}-\\d{2}-\\d{4}\\b|\\b\\d{3} \\d{2} \\d{4}\\b|\\b\\d{9}\\b',
    validate: v.ssn,
    base: 'LIKELY',
    hotwords: /ssn|social security|\bss#|soc\.? ?sec/,
    withHotword: 'VERY_LIKELY',
    adjust: (value) => (/^\d{9}$/.test(value) ? -2 : 0),
    exclude: NUMERIC_EXCLUDE,
    numeric: true,
    mask: 'digits',
    normalise: 'digits',
  },
  {
    id: 'US_INDIVIDUAL_TAXPAYER_IDENTIFICATION_NUMBER',
    infoType: 'US_INDIVIDUAL_TAXPAYER_IDENTIFICATION_NUMBER',
    category: 'GOVERNMENT_ID',
    version: V,
    description: 'US ITIN (9xx-[5-9]x-xxxx)',
    pattern: '\\b9\\d{2}-\\d{2}-\\d{4}\\b|\\b9\\d{2} \\d{2} \\d{4}\\b|\\b9\\d{8}\\b',
    validate: v.itin,
    base: 'LIKELY',
    hotwords: /itin|taxpayer|tax id/,
    withHotword: 'VERY_LIKELY',
    adjust: (value) => (/^\d{9}$/.test(value) ? -2 : 0),
    exclude: NUMERIC_EXCLUDE,
    numeric: true,
    mask: 'digits',
    normalise: 'digits',
  },
  {
    id: 'US_EMPLOYER_IDENTIFICATION_NUMBER',
    infoType: 'US_EMPLOYER_IDENTIFICATION_NUMBER',
    category: 'GOVERNMENT_ID',
    version: V,
    description: 'US EIN (NN-NNNNNNN with an assigned prefix; needs context)',
    pattern: '\\b\\d{2}-\\d{7}\\b',
    validate: v.ein,
    base: 'UNLIKELY',
    hotwords: /\bein\b|employer|fein|tax id|federal tax|\btin\b/,
    withHotword: 'LIKELY',
    exclude: NUMERIC_EXCLUDE,
    numeric: true,
    mask: 'digits',
    normalise: 'digits',
  },
  {
    id: 'US_PASSPORT',
    infoType: 'US_PASSPORT',
    category: 'GOVERNMENT_ID',
    version: V,
    description: 'US passport number (9 digits or letter + 8 digits; needs "passport" nearby)',
    pattern: '\\b[A-Z]?\\d{9}\\b|\\b[A-Z]\\d{8}\\b',
    base: 'VERY_UNLIKELY',
    hotwords: /passport/,
    withHotword: 'LIKELY',
    exclude: NUMERIC_EXCLUDE,
    numeric: true,
    mask: 'tail',
    normalise: 'compact',
  },
  {
    id: 'US_DEA_NUMBER',
    infoType: 'US_DEA_NUMBER',
    category: 'HEALTH',
    version: V,
    description: 'US DEA registration number (2 letters + 7 digits, checksum)',
    pattern: '\\b[ABCDEFGHJKLMPRSTUX][A-Z9]\\d{7}\\b',
    validate: v.deaNumber,
    base: 'POSSIBLE',
    hotwords: /\bdea\b|prescriber|registration/,
    withHotword: 'VERY_LIKELY',
    mask: 'tail',
    normalise: 'compact',
  },
  {
    id: 'US_HEALTHCARE_NPI',
    infoType: 'US_HEALTHCARE_NPI',
    category: 'HEALTH',
    version: V,
    description: 'US National Provider Identifier (Luhn with 80840 prefix; needs context)',
    pattern: '\\b[12]\\d{9}\\b',
    validate: v.npi,
    base: 'UNLIKELY',
    hotwords: /\bnpi\b|provider/,
    withHotword: 'LIKELY',
    exclude: NUMERIC_EXCLUDE,
    numeric: true,
    mask: 'digits',
    normalise: 'digits',
  },
  {
    id: 'UK_NATIONAL_INSURANCE_NUMBER',
    infoType: 'UK_NATIONAL_INSURANCE_NUMBER',
    category: 'GOVERNMENT_ID',
    version: V,
    description: 'UK National Insurance number (prefix rules)',
    pattern: '\\b[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\\d{2} ?\\d{2} ?\\d{2} ?[A-D]\\b',
    validate: v.ukNino,
    base: 'LIKELY',
    hotwords: /\bni\b|nino|national insurance/,
    withHotword: 'VERY_LIKELY',
    mask: 'tail',
    normalise: 'compact',
  },
  {
    id: 'UK_NATIONAL_HEALTH_SERVICE_NUMBER',
    infoType: 'UK_NATIONAL_HEALTH_SERVICE_NUMBER',
    category: 'HEALTH',
    version: V,
    description: 'UK NHS number (mod 11; needs context)',
    pattern: '\\b\\d{3}[ -]?\\d{3}[ -]?\\d{4}\\b',
    validate: v.nhs,
    base: 'UNLIKELY',
    hotwords: /\bnhs\b|health service|chi number/,
    withHotword: 'LIKELY',
    exclude: NUMERIC_EXCLUDE,
    numeric: true,
    mask: 'digits',
    normalise: 'digits',
  },
  {
    id: 'CANADA_SOCIAL_INSURANCE_NUMBER',
    infoType: 'CANADA_SOCIAL_INSURANCE_NUMBER',
    category: 'GOVERNMENT_ID',
    version: V,
    description: 'Canadian SIN (Luhn; needs context)',
    pattern: '\\b\\d{3}[ -]?\\d{3}[ -]?\\d{3}\\b',
    validate: v.canadaSin,
    base: 'UNLIKELY',
    hotwords: /\bsin\b|social insurance|numéro d.assurance sociale|\bnas\b/,
    withHotword: 'LIKELY',
    exclude: NUMERIC_EXCLUDE,
    numeric: true,
    mask: 'digits',
    normalise: 'digits',
  },
  {
    id: 'AUSTRALIA_TAX_FILE_NUMBER',
    infoType: 'AUSTRALIA_TAX_FILE_NUMBER',
    category: 'GOVERNMENT_ID',
    version: V,
    description: 'Australian TFN (weighted mod 11; needs context)',
    pattern: '\\b\\d{3} ?\\d{3} ?\\d{2,3}\\b',
    validate: v.tfn,
    base: 'UNLIKELY',
    hotwords: /\btfn\b|tax file/,
    withHotword: 'LIKELY',
    exclude: NUMERIC_EXCLUDE,
    numeric: true,
    mask: 'digits',
    normalise: 'digits',
  },
  {
    id: 'INDIA_AADHAAR_INDIVIDUAL',
    infoType: 'INDIA_AADHAAR_INDIVIDUAL',
    category: 'GOVERNMENT_ID',
    version: V,
    description: 'Indian Aadhaar number (12 digits, Verhoeff)',
    pattern: '\\b[2-9]\\d{3}[ -]?\\d{4}[ -]?\\d{4}\\b',
    validate: v.aadhaar,
    base: 'UNLIKELY',
    hotwords: /aadh?aar|uidai|\buid\b/,
    withHotword: 'VERY_LIKELY',
    adjust: (value) => (/^\d{4} \d{4} \d{4}$/.test(value) ? 1 : 0),
    exclude: NUMERIC_EXCLUDE,
    numeric: true,
    mask: 'digits',
    normalise: 'digits',
  },
  {
    id: 'INDIA_PAN_INDIVIDUAL',
    infoType: 'INDIA_PAN_INDIVIDUAL',
    category: 'GOVERNMENT_ID',
    version: V,
    description: 'Indian Permanent Account Number (AAAPA9999A)',
    pattern: '\\b[A-Z]{3}[PCHFATBLJG][A-Z]\\d{4}[A-Z]\\b',
    validate: v.indiaPan,
    base: 'POSSIBLE',
    hotwords: /\bpan\b|permanent account|income tax/,
    withHotword: 'VERY_LIKELY',
    mask: 'tail',
    normalise: 'compact',
  },
  {
    id: 'SPAIN_NIF_NUMBER',
    infoType: 'SPAIN_NIF_NUMBER',
    category: 'GOVERNMENT_ID',
    version: V,
    description: 'Spanish DNI/NIF (8 digits + mod 23 letter)',
    pattern: '\\b\\d{8}-?[A-Z]\\b',
    validate: v.spainNif,
    base: 'LIKELY',
    hotwords: /\bnif\b|\bdni\b|documento/,
    withHotword: 'VERY_LIKELY',
    numeric: true,
    mask: 'tail',
    normalise: 'compact',
  },
  {
    id: 'SPAIN_NIE_NUMBER',
    infoType: 'SPAIN_NIE_NUMBER',
    category: 'GOVERNMENT_ID',
    version: V,
    description: 'Spanish foreigner id NIE (X/Y/Z + 7 digits + mod 23 letter)',
    pattern: '\\b[XYZ]-?\\d{7}-?[A-Z]\\b',
    validate: v.spainNie,
    base: 'LIKELY',
    hotwords: /\bnie\b|extranjero/,
    withHotword: 'VERY_LIKELY',
    mask: 'tail',
    normalise: 'compact',
  },
  {
    id: 'ITALY_FISCAL_CODE',
    infoType: 'ITALY_FISCAL_CODE',
    category: 'GOVERNMENT_ID',
    version: V,
    description: 'Italian codice fiscale (16 chars with check character)',
    pattern: '\\b[A-Z]{6}[0-9LMNPQRSTUV]{2}[A-EHLMPRST][0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{3}[A-Z]\\b',
    validate: v.italyFiscalCode,
    base: 'VERY_LIKELY',
    mask: 'tail',
    normalise: 'compact',
  },
  {
    id: 'FRANCE_NIR',
    infoType: 'FRANCE_NIR',
    category: 'GOVERNMENT_ID',
    version: V,
    description: 'French social security number NIR/INSEE (15 chars, key = 97 − n mod 97)',
    pattern: '\\b[12] ?\\d{2} ?\\d{2} ?(?:\\d{2}|2[AB]) ?\\d{3} ?\\d{3} ?\\d{2}\\b',
    validate: v.franceNir,
    base: 'LIKELY',
    hotwords: /\bnir\b|insee|sécurité sociale|securite sociale|social security/,
    withHotword: 'VERY_LIKELY',
    exclude: NUMERIC_EXCLUDE,
    numeric: true,
    mask: 'digits',
    normalise: 'compact',
  },
  {
    id: 'GERMANY_TAXPAYER_IDENTIFICATION_NUMBER',
    infoType: 'GERMANY_TAXPAYER_IDENTIFICATION_NUMBER',
    category: 'GOVERNMENT_ID',
    version: V,
    description: 'German Steuer-ID (11 digits, ISO 7064 mod 11,10; needs context)',
    pattern: '\\b[1-9]\\d(?: ?\\d{3}){3}\\b',
    validate: v.germanyTaxId,
    base: 'UNLIKELY',
    hotwords: /steuer|idnr|tax id|identifikationsnummer|tin\b/,
    withHotword: 'LIKELY',
    exclude: NUMERIC_EXCLUDE,
    numeric: true,
    mask: 'digits',
    normalise: 'digits',
  },
  {
    id: 'NETHERLANDS_BSN_NUMBER',
    infoType: 'NETHERLANDS_BSN_NUMBER',
    category: 'GOVERNMENT_ID',
    version: V,
    description: 'Dutch citizen service number BSN (11-proef; needs context)',
    pattern: '\\b\\d{4}\\.\\d{2}\\.\\d{3}\\b|\\b\\d{9}\\b',
    validate: v.bsn,
    base: 'UNLIKELY',
    hotwords: /\bbsn\b|burgerservice|sofi/,
    withHotword: 'LIKELY',
    exclude: NUMERIC_EXCLUDE,
    numeric: true,
    mask: 'digits',
    normalise: 'digits',
  },
  {
    id: 'BRAZIL_CPF_NUMBER',
    infoType: 'BRAZIL_CPF_NUMBER',
    category: 'GOVERNMENT_ID',
    version: V,
    description: 'Brazilian CPF (two mod 11 check digits)',
    pattern: '\\b\\d{3}\\.\\d{3}\\.\\d{3}-\\d{2}\\b|\\b\\d{11}\\b',
    validate: v.cpf,
    base: 'LIKELY',
    hotwords: /\bcpf\b|cadastro/,
    withHotword: 'VERY_LIKELY',
    adjust: (value) => (/^\d{11}$/.test(value) ? -2 : 0),
    exclude: NUMERIC_EXCLUDE,
    numeric: true,
    mask: 'digits',
    normalise: 'digits',
  },
  // ---------------------------------------------------------------- PII
  {
    id: 'EMAIL_ADDRESS',
    infoType: 'EMAIL_ADDRESS',
    category: 'PII',
    version: V,
    description: 'E-mail address',
    pattern:
      "\\b[A-Za-z0-9][A-Za-z0-9._%+'-]*@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\\.[A-Za-z0-9-]+)*\\.[A-Za-z]{2,24}\\b",
    base: 'LIKELY',
    hotwords: /e-?mail|contact|mailto|\bto:|\bfrom:|\bcc:/,
    withHotword: 'VERY_LIKELY',
    // Retina asset names (icon@2x.png) and package specs (pkg@1.2.3) look like addresses.
    excludeValue: (value) =>
      /@\d+x\./.test(value) || /\.(?:png|jpe?g|gif|svg|webp|js|ts|css|map)$/i.test(value),
    mask: 'email',
    normalise: 'lower',
  },
  {
    id: 'PHONE_NUMBER',
    generic: true,
    infoType: 'PHONE_NUMBER',
    category: 'PII',
    version: V,
    description: 'Telephone number (international +CC… or North American / UK formats with separators)',
    pattern:
      '\\+\\d{1,3}[ .-]?(?:\\(\\d{1,4}\\)[ .-]?)?\\d{1,4}(?:[ .-]\\d{2,4}){1,4}\\b|(?:\\(\\d{3}\\) ?|\\b\\d{3}[.-])\\d{3}[.-]\\d{4}\\b|\\b0\\d{2,4} \\d{3,4} \\d{3,4}\\b',
    validate: (value) => {
      const digits = v.digitsOf(value);
      return digits.length >= 9 && digits.length <= 15;
    },
    base: 'POSSIBLE',
    hotwords: /phone|tel\b|tel\.|mobile|cell|fax|call|contact|whatsapp|sms/,
    withHotword: 'LIKELY',
    exclude: NUMERIC_EXCLUDE,
    numeric: true,
    mask: 'digits',
    normalise: 'digits',
  },
  {
    id: 'DATE_OF_BIRTH',
    infoType: 'DATE_OF_BIRTH',
    category: 'PII',
    version: V,
    description: 'Date (ISO, D/M/Y, M/D/Y, "12 March 1985") next to birth/DOB context',
    pattern:
      '\\b(?:\\d{4}[-/.]\\d{1,2}[-/.]\\d{1,2}|\\d{1,2}[-/.]\\d{1,2}[-/.]\\d{4}|\\d{1,2} (?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\\.?,? \\d{4}|(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\\.? \\d{1,2},? \\d{4})\\b',
    ignoreCase: true,
    validate: v.birthDate,
    base: 'VERY_UNLIKELY',
    hotwords: /birth|\bdob\b|\bd\.o\.b|born|geboren|geburtsdatum|naissance|nacimiento|bday/,
    withHotword: 'LIKELY',
    mask: 'tail',
    normalise: 'digits',
  },
  {
    id: 'IMEI_HARDWARE_ID',
    infoType: 'IMEI_HARDWARE_ID',
    category: 'PII',
    version: V,
    description: 'Mobile device IMEI (15 digits, Luhn; needs context)',
    pattern: '\\b\\d{2}[ -]?\\d{6}[ -]?\\d{6}[ -]?\\d\\b',
    validate: v.imei,
    base: 'UNLIKELY',
    hotwords: /imei|device id|handset/,
    withHotword: 'LIKELY',
    exclude: NUMERIC_EXCLUDE,
    numeric: true,
    mask: 'digits',
    normalise: 'digits',
  },
  // ---------------------------------------------------------------- network
  {
    id: 'IP_ADDRESS',
    infoType: 'IP_ADDRESS',
    category: 'NETWORK',
    version: V,
    description: 'IPv4 address',
    pattern: '\\b\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}\\b',
    validate: v.ipv4,
    base: 'LIKELY',
    hotwords: /\bip\b|address|host|server|client|remote|addr/,
    withHotword: 'VERY_LIKELY',
    exclude: /(?:\bversion|\bver\.?|\bv|release|build|\boid|snmp)\s*[:=]?\s*$/,
    numeric: true,
    mask: 'tail',
    normalise: 'raw',
  },
  {
    id: 'IPV6_ADDRESS',
    infoType: 'IP_ADDRESS',
    category: 'NETWORK',
    version: V,
    description: 'IPv6 address (full or compressed)',
    pattern:
      '\\b(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}\\b|\\b(?:[0-9A-Fa-f]{1,4}:){1,6}(?::[0-9A-Fa-f]{1,4}){1,6}\\b|\\b(?:[0-9A-Fa-f]{1,4}:){1,7}:|::(?:[0-9A-Fa-f]{1,4}:){0,6}[0-9A-Fa-f]{1,4}\\b',
    validate: v.ipv6,
    base: 'LIKELY',
    hotwords: /\bip|address|host|server|client|remote|addr/,
    withHotword: 'VERY_LIKELY',
    mask: 'tail',
    normalise: 'lower',
  },
  {
    id: 'MAC_ADDRESS',
    infoType: 'MAC_ADDRESS',
    category: 'NETWORK',
    version: V,
    description: 'MAC address (aa:bb:cc:dd:ee:ff, aa-bb-…, aabb.ccdd.eeff)',
    pattern:
      '\\b[0-9A-Fa-f]{2}:[0-9A-Fa-f]{2}:[0-9A-Fa-f]{2}:[0-9A-Fa-f]{2}:[0-9A-Fa-f]{2}:[0-9A-Fa-f]{2}\\b|\\b[0-9A-Fa-f]{2}-[0-9A-Fa-f]{2}-[0-9A-Fa-f]{2}-[0-9A-Fa-f]{2}-[0-9A-Fa-f]{2}-[0-9A-Fa-f]{2}\\b|\\b[0-9A-Fa-f]{4}\\.[0-9A-Fa-f]{4}\\.[0-9A-Fa-f]{4}\\b',
    validate: v.macAddress,
    base: 'LIKELY',
    hotwords: /\bmac\b|hardware|ether|hwaddr|bssid|wifi|nic/,
    withHotword: 'VERY_LIKELY',
    mask: 'tail',
    normalise: 'compact',
  },
];
