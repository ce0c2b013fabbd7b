/**
 * Checksum and structure validators for identifiers. Each takes the value as found (separators allowed)
 * and returns whether it is a well-formed identifier. Named validators are also usable from custom
 * detector configs (`validator: luhn`).
 */

import { isIPv6 } from 'node:net';

/** [A-Za-z0-9_], JavaScript's \w and \b word characters. */
export function isWordCode(code: number): boolean {
  return (
    (code >= 48 && code <= 57) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122) || code === 95
  );
}

/** Digits only. */
export function digitsOf(value: string): string {
  // Hot on dense text: a char loop instead of a regex replace (same result).
  let out = '';
  let runStart = 0;
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 48 || code > 57) {
      if (i > runStart) out += value.slice(runStart, i);
      runStart = i + 1;
    }
  }
  if (runStart === 0) return value;
  return runStart < value.length ? out + value.slice(runStart) : out;
}

/** Alphanumerics only, upper case. */
export function compact(value: string): string {
  // Same as value.replace(/[^0-9A-Za-z]+/g, '').toUpperCase(), as a char loop (hot on dense text).
  let out = '';
  let runStart = 0;
  let lower = false;
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code >= 97 && code <= 122) lower = true;
    else if (!((code >= 48 && code <= 57) || (code >= 65 && code <= 90))) {
      if (i > runStart) out += value.slice(runStart, i);
      runStart = i + 1;
    }
  }
  out = runStart === 0 ? value : out + value.slice(runStart);
  return lower ? out.toUpperCase() : out;
}

export function luhn(value: string): boolean {
  const digits = digitsOf(value);
  if (digits.length < 2) return false;
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

/** ISO 7064 MOD 97-10 over an alphanumeric string (letters A=10 … Z=35), as `compact` gives. */
export function mod97(value: string): number {
  let remainder = 0;
  for (let i = 0; i < value.length; i++) remainder = mod97Step(remainder, value.charCodeAt(i));
  return remainder;
}

/** IBAN registry lengths by country. */
export const IBAN_LENGTHS: Readonly<Record<string, number>> = {
  AD: 24, AE: 23, AL: 28, AT: 20, AZ: 28, BA: 20, BE: 16, BG: 22, BH: 22, BR: 29, BY: 28, CH: 21, CR: 22,
  CY: 28, CZ: 24, DE: 22, DK: 18, DO: 28, EE: 20, EG: 29, ES: 24, FI: 18, FO: 18, FR: 27, GB: 22, GE: 22,
  GI: 23, GL: 18, GR: 27, GT: 28, HR: 21, HU: 28, IE: 22, IL: 23, IQ: 23, IS: 26, IT: 27, JO: 30, KW: 30,
  KZ: 20, LB: 28, LC: 32, LI: 21, LT: 20, LU: 20, LV: 21, MC: 27, MD: 24, ME: 22, MK: 19, MR: 27, MT: 31,
  MU: 30, NL: 18, NO: 15, PK: 24, PL: 28, PS: 29, PT: 25, QA: 29, RO: 24, RS: 22, SA: 24, SC: 31, SE: 24,
  SI: 19, SK: 24, SM: 27, ST: 25, SV: 28, TL: 23, TN: 24, TR: 26, UA: 29, VA: 22, VG: 24, XK: 20,
}; // prettier-ignore

/** IBAN_LENGTHS by the country code's letters (A = 0), 26 × 26; 0 for none. */
const IBAN_LENGTH_BY_LETTERS = new Uint8Array(26 * 26);
for (const [country, length] of Object.entries(IBAN_LENGTHS))
  IBAN_LENGTH_BY_LETTERS[(country.charCodeAt(0) - 65) * 26 + country.charCodeAt(1) - 65] = length;

/** The IBAN length of the country whose upper-case letters have these char codes; 0 for none. */
export function ibanLength(first: number, second: number): number {
  if (first < 65 || first > 90 || second < 65 || second > 90) return 0;
  return IBAN_LENGTH_BY_LETTERS[(first - 65) * 26 + second - 65];
}

/** IBAN: country length and ISO 7064 mod 97 = 1. */
export function iban(value: string): boolean {
  return ibanBefore(value, value.length);
}

/**
 * iban(value.slice(0, end)), making no strings (hot on dense text): the characters compact() would keep,
 * upper-cased, read twice: for the country, length and shape, then for mod 97 with the first four moved
 * to the end.
 */
export function ibanBefore(value: string, end: number): boolean {
  let count = 0;
  let c0 = 0;
  let c1 = 0;
  let c2 = 0;
  let c3 = 0;
  for (let i = 0; i < end; i++) {
    const code = alnumUpper(value.charCodeAt(i));
    if (code < 0) continue;
    if (count < 4) {
      // Two letters, then two digits.
      if (count < 2 ? code < 65 : code > 57) return false;
      if (count === 0) c0 = code;
      else if (count === 1) c1 = code;
      else if (count === 2) c2 = code;
      else c3 = code;
    }
    count++;
  }
  if (count < 5 || count !== ibanLength(c0, c1)) return false;
  let remainder = 0;
  let seen = 0;
  for (let i = 0; i < end; i++) {
    const code = alnumUpper(value.charCodeAt(i));
    if (code < 0 || seen++ < 4) continue;
    remainder = mod97Step(remainder, code);
  }
  remainder = mod97Step(mod97Step(mod97Step(mod97Step(remainder, c0), c1), c2), c3);
  return remainder === 1;
}

/** A character compact() keeps, upper-cased; -1 for the others. */
function alnumUpper(code: number): number {
  if ((code >= 48 && code <= 57) || (code >= 65 && code <= 90)) return code;
  if (code >= 97 && code <= 122) return code - 32;
  return -1;
}

/** One [0-9A-Z] character into a MOD 97-10 remainder (letters stand for their two digits, 10 … 35). */
function mod97Step(remainder: number, code: number): number {
  return code < 65 ? (remainder * 10 + code - 48) % 97 : (remainder * 100 + code - 55) % 97;
}

const VERHOEFF_D = [
  [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 2, 3, 4, 0, 6, 7, 8, 9, 5], [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
  [3, 4, 0, 1, 2, 8, 9, 5, 6, 7], [4, 0, 1, 2, 3, 9, 5, 6, 7, 8], [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
  [6, 5, 9, 8, 7, 1, 0, 4, 3, 2], [7, 6, 5, 9, 8, 2, 1, 0, 4, 3], [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
  [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
]; // prettier-ignore
const VERHOEFF_P = [
  [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 5, 7, 6, 2, 8, 3, 0, 9, 4], [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
  [8, 9, 1, 6, 0, 4, 3, 5, 2, 7], [9, 4, 5, 3, 1, 2, 6, 8, 7, 0], [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
  [2, 7, 9, 3, 8, 0, 6, 4, 1, 5], [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
]; // prettier-ignore

export function verhoeff(value: string): boolean {
  // The value's digits from the right, skipping separators, making no strings.
  let c = 0;
  let i = 0;
  for (let at = value.length - 1; at >= 0; at--) {
    const d = value.charCodeAt(at) - 48;
    if (d < 0 || d > 9) continue;
    c = VERHOEFF_D[c][VERHOEFF_P[i % 8][d]];
    i++;
  }
  return i > 0 && c === 0;
}

/** Aadhaar: 12 digits, first 2-9, Verhoeff. */
export function aadhaar(value: string): boolean {
  let count = 0;
  let first = -1;
  for (let i = 0; i < value.length; i++) {
    const d = value.charCodeAt(i) - 48;
    if (d < 0 || d > 9) continue;
    if (count++ === 0) first = d;
  }
  return count === 12 && first >= 2 && verhoeff(value);
}

/** Weighted sum helper. */
function weightedSum(digits: string, weights: number[]): number {
  let sum = 0;
  for (let i = 0; i < weights.length; i++) sum += (digits.charCodeAt(i) - 48) * weights[i];
  return sum;
}

/** UK NHS number: mod 11 with weights 10…2, check 11 → 0, 10 invalid. */
export function nhs(value: string): boolean {
  const digits = digitsOf(value);
  if (digits.length !== 10) return false;
  let check = 11 - (weightedSum(digits, [10, 9, 8, 7, 6, 5, 4, 3, 2]) % 11);
  if (check === 11) check = 0;
  return check !== 10 && check === digits.charCodeAt(9) - 48;
}

/** Australian TFN: weighted sum mod 11 (8 or 9 digits). */
export function tfn(value: string): boolean {
  const digits = digitsOf(value);
  if (digits.length === 9) return weightedSum(digits, [1, 4, 3, 7, 5, 8, 6, 9, 10]) % 11 === 0;
  if (digits.length === 8) return weightedSum(digits, [10, 7, 8, 4, 6, 3, 5, 1]) % 11 === 0;
  return false;
}

const NIF_LETTERS = 'TRWAGMYFPDXBNJZSQVHLCKE';

/** Spanish DNI/NIF: 8 digits + mod 23 letter. */
export function spainNif(value: string): boolean {
  const code = compact(value);
  if (!/^\d{8}[A-Z]$/.test(code)) return false;
  return NIF_LETTERS[Number(code.slice(0, 8)) % 23] === code[8];
}

/** Spanish NIE: X/Y/Z + 7 digits + mod 23 letter (X=0, Y=1, Z=2). */
export function spainNie(value: string): boolean {
  const code = compact(value);
  if (!/^[XYZ]\d{7}[A-Z]$/.test(code)) return false;
  const number = Number('XYZ'.indexOf(code[0]) + code.slice(1, 8));
  return NIF_LETTERS[number % 23] === code[8];
}

const CF_ODD: Record<string, number> = {};
{
  const odd = [1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23];
  for (let i = 0; i < 26; i++) CF_ODD[String.fromCharCode(65 + i)] = odd[i];
  for (let i = 0; i < 10; i++) CF_ODD[String(i)] = odd[i];
}

/** Italian codice fiscale: 16 chars, check character from odd/even tables. */
export function italyFiscalCode(value: string): boolean {
  const code = compact(value);
  if (!/^[A-Z]{6}[0-9LMNPQRSTUV]{2}[A-EHLMPRST][0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{3}[A-Z]$/.test(code))
    return false;
  let sum = 0;
  for (let i = 0; i < 15; i++) {
    const ch = code[i];
    if (i % 2 === 0) sum += CF_ODD[ch];
    else sum += ch >= 'A' ? ch.charCodeAt(0) - 65 : ch.charCodeAt(0) - 48;
  }
  return String.fromCharCode(65 + (sum % 26)) === code[15];
}

/** ABA routing number: 3-7-1 weighted checksum and a valid Federal Reserve prefix. */
export function abaRouting(value: string): boolean {
  const digits = digitsOf(value);
  if (digits.length !== 9) return false;
  const prefix = Number(digits.slice(0, 2));
  const validPrefix =
    prefix <= 12 || (prefix >= 21 && prefix <= 32) || (prefix >= 61 && prefix <= 72) || prefix === 80;
  return validPrefix && weightedSum(digits, [3, 7, 1, 3, 7, 1, 3, 7, 1]) % 10 === 0;
}

/** Brazilian CPF: two mod 11 check digits; all-same digits invalid. */
export function cpf(value: string): boolean {
  const digits = digitsOf(value);
  if (digits.length !== 11 || /^(\d)\1{10}$/.test(digits)) return false;
  const check = (length: number): number => {
    let sum = 0;
    for (let i = 0; i < length; i++) sum += (digits.charCodeAt(i) - 48) * (length + 1 - i);
    const r = (sum * 10) % 11;
    return r === 10 ? 0 : r;
  };
  return check(9) === digits.charCodeAt(9) - 48 && check(10) === digits.charCodeAt(10) - 48;
}

/** Dutch BSN: 9 digits, "11-proef" (weights 9…2, last −1). */
export function bsn(value: string): boolean {
  const digits = digitsOf(value);
  if (digits.length !== 9 || digits === '000000000') return false;
  const sum = weightedSum(digits, [9, 8, 7, 6, 5, 4, 3, 2, -1]);
  return sum % 11 === 0 && sum !== 0;
}

/** French NIR (INSEE): 13 characters + 2-digit key = 97 − (number mod 97); Corsica 2A/2B. */
export function franceNir(value: string): boolean {
  const code = compact(value);
  if (!/^[12]\d{4}(?:\d{2}|2A|2B)\d{8}$/.test(code)) return false;
  const body = code.slice(0, 13).replace('2A', '19').replace('2B', '18');
  return 97 - mod97(body) === Number(code.slice(13));
}

/** German Steuer-ID: 11 digits, first not 0, ISO 7064 MOD 11,10 check digit, one digit repeated. */
export function germanyTaxId(value: string): boolean {
  const digits = digitsOf(value);
  if (digits.length !== 11 || digits[0] === '0') return false;
  const counts = new Map<string, number>();
  for (const d of digits.slice(0, 10)) counts.set(d, (counts.get(d) ?? 0) + 1);
  const repeats = [...counts.values()].filter((n) => n > 1);
  if (repeats.length !== 1 || repeats[0] > 3) return false;
  let product = 10;
  for (let i = 0; i < 10; i++) {
    let sum = (digits.charCodeAt(i) - 48 + product) % 10;
    if (sum === 0) sum = 10;
    product = (sum * 2) % 11;
  }
  let check = 11 - product;
  if (check === 10) check = 0;
  return check === digits.charCodeAt(10) - 48;
}

/** US NPI: 10 digits, Luhn over "80840" + the number. */
export function npi(value: string): boolean {
  const digits = digitsOf(value);
  return digits.length === 10 && /^[12]/.test(digits) && luhn('80840' + digits);
}

/** US DEA registration: 2 letters + 7 digits; (d1+d3+d5) + 2(d2+d4+d6) last digit = d7. */
export function deaNumber(value: string): boolean {
  const code = compact(value);
  if (!/^[ABCDEFGHJKLMPRSTUX][A-Z9]\d{7}$/.test(code)) return false;
  const d = [...code.slice(2)].map(Number);
  return (d[0] + d[2] + d[4] + 2 * (d[1] + d[3] + d[5])) % 10 === d[6];
}

/** IMEI: 15 digits with Luhn. */
export function imei(value: string): boolean {
  const digits = digitsOf(value);
  return digits.length === 15 && luhn(digits);
}

/** US SSN structure: area not 000/666/9xx, group not 00, serial not 0000. */
export function ssn(value: string): boolean {
  const digits = digitsOf(value);
  if (digits.length !== 9) return false;
  const area = digits.slice(0, 3);
  if (area === '000' || area === '666' || area[0] === '9') return false;
  if (digits.slice(3, 5) === '00' || digits.slice(5) === '0000') return false;
  // Well-known fake and advertising numbers.
  return digits !== '123456789' && digits !== '078051120' && digits !== '219099999';
}

/** US ITIN: 9xx, group 50-65, 70-88, 90-92, 94-99. */
export function itin(value: string): boolean {
  const digits = digitsOf(value);
  if (digits.length !== 9 || digits[0] !== '9') return false;
  const group = Number(digits.slice(3, 5));
  return (
    (group >= 50 && group <= 65) ||
    (group >= 70 && group <= 88) ||
    (group >= 90 && group <= 92) ||
    group >= 94
  );
}

const EIN_PREFIXES = new Set(
  (
    '01 02 03 04 05 06 10 11 12 13 14 15 16 20 21 22 23 24 25 26 27 30 31 32 33 34 35 36 37 38 39 40 41 42 43 ' +
    '44 45 46 47 48 50 51 52 53 54 55 56 57 58 59 60 61 62 63 64 65 66 67 68 71 72 73 74 75 76 77 80 81 82 83 ' +
    '84 85 86 87 88 90 91 92 93 94 95 98 99'
  ).split(' '),
);

/** US EIN: 9 digits with an assigned campus prefix. */
export function ein(value: string): boolean {
  const digits = digitsOf(value);
  return digits.length === 9 && EIN_PREFIXES.has(digits.slice(0, 2));
}

/** Canadian SIN: 9 digits, Luhn, first digit not 0 or 8. */
export function canadaSin(value: string): boolean {
  const digits = digitsOf(value);
  return digits.length === 9 && digits[0] !== '0' && digits[0] !== '8' && luhn(digits);
}

/** UK National Insurance number prefix rules. */
export function ukNino(value: string): boolean {
  const code = compact(value);
  if (!/^[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]\d{6}[A-D]$/.test(code)) return false;
  return !['BG', 'GB', 'NK', 'KN', 'TN', 'NT', 'ZZ'].includes(code.slice(0, 2));
}

/** Indian PAN: 5 letters (4th = holder type), 4 digits, letter. */
export function indiaPan(value: string): boolean {
  return /^[A-Z]{3}[PCHFATBLJG][A-Z]\d{4}[A-Z]$/.test(compact(value));
}

/** ISO 3166-1 alpha-2 codes, for SWIFT/BIC validation. */
const COUNTRY_CODES = new Set(
  (
    'AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY ' +
    'BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK ' +
    'FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR ' +
    'IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ' +
    'ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM ' +
    'PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF ' +
    'TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS XK YE YT ZA ZM ZW'
  ).split(' '),
);

/** SWIFT/BIC: 4 letters bank, valid country, 2 location, optional 3 branch. */
export function swiftCode(value: string): boolean {
  const code = compact(value);
  return /^[A-Z]{6}[A-Z0-9]{2}(?:[A-Z0-9]{3})?$/.test(code) && COUNTRY_CODES.has(code.slice(4, 6));
}

/** Payment card: Luhn, 13-19 digits, known issuer prefix. */
export function creditCard(value: string): boolean {
  // One pass over the value's digits, making no strings (hot on dense text): count, then the Luhn sum
  // (every second digit from the right doubled) and the first six digits together.
  let count = 0;
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code >= 48 && code <= 57) count++;
  }
  if (count < 13 || count > 19) return false;
  let sum = 0;
  let p6 = 0;
  let seen = 0;
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 48 || code > 57) continue;
    let d = code - 48;
    if (seen < 6) p6 = p6 * 10 + d;
    if ((count - 1 - seen) % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    seen++;
  }
  if (sum % 10 !== 0) return false;
  const p2 = Math.floor(p6 / 10000);
  const p3 = Math.floor(p6 / 1000);
  const p4 = Math.floor(p6 / 100);
  if (p6 < 500000 && p6 >= 400000) return count === 13 || count === 16 || count === 19; // Visa
  if ((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720)) return count === 16; // Mastercard
  if (p2 === 34 || p2 === 37) return count === 15; // Amex
  if (p4 === 6011 || p2 === 65 || (p3 >= 644 && p3 <= 649) || (p6 >= 622126 && p6 <= 622925))
    return count >= 16; // Discover
  if (p4 >= 3528 && p4 <= 3589) return count >= 16; // JCB
  if (p2 === 36 || p2 === 38 || (p3 >= 300 && p3 <= 305)) return count >= 14; // Diners
  if (p2 === 62) return count >= 16; // UnionPay
  if (p2 === 50 || (p2 >= 56 && p2 <= 69)) return count >= 12; // Maestro
  return false;
}

export function ipv4(value: string): boolean {
  // Four dot-separated parts of 1–3 digits, each ≤ 255 without a leading zero; first part not 0.
  // (0.x.x.x is rejected; 1.1.1.1 is a real address, kept.) A char loop: hot on dense text.
  let parts = 0;
  let length = 0;
  let number = 0;
  let first = -1;
  for (let i = 0; i <= value.length; i++) {
    const code = i < value.length ? value.charCodeAt(i) : 46;
    if (code === 46) {
      if (length === 0 || number > 255 || (length > 1 && first === 0)) return false;
      if (parts === 0 && length === 1 && first === 0) return false;
      parts++;
      length = 0;
      number = 0;
      continue;
    }
    if (code < 48 || code > 57 || ++length > 3) return false;
    if (length === 1) first = code - 48;
    number = number * 10 + (code - 48);
  }
  return parts === 4;
}

export function ipv6(value: string): boolean {
  if (!isIPv6(value)) return false;
  // Short compressed words ("ace::", "dead::beef") are rarely addresses: require 3+ groups or a digit.
  const groups = value.split(':').filter(Boolean).length;
  return groups >= 3 || /\d/.test(value);
}

export function macAddress(value: string): boolean {
  const hex = value.replace(/[^0-9A-Fa-f]/g, '');
  return hex.length === 12 && hex !== '000000000000' && !/^f{12}$/i.test(hex);
}

/** A calendar date (Y, M, D) in a plausible birth range. */
export function plausibleBirthDate(year: number, month: number, day: number, now = new Date()): boolean {
  if (year < 1900 || year > now.getUTCFullYear() || month < 1 || month > 12 || day < 1) return false;
  const days = new Date(Date.UTC(year, month, 0)).getUTCDate();
  return day <= days;
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

/** Parses the date formats the DATE_OF_BIRTH detector matches and checks the date exists. */
export function birthDate(value: string): boolean {
  let m = /^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})/.exec(value);
  if (m) return plausibleBirthDate(Number(m[1]), Number(m[2]), Number(m[3]));
  m = /^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})$/.exec(value);
  if (m) {
    const a = Number(m[1]);
    const b = Number(m[2]);
    const y = Number(m[3]);
    return plausibleBirthDate(y, b, a) || plausibleBirthDate(y, a, b);
  }
  m = /^(\d{1,2})\s+([A-Za-z]{3})[a-z]*\.?,?\s+(\d{4})$/.exec(value);
  if (m) return plausibleBirthDate(Number(m[3]), MONTHS.indexOf(m[2].toLowerCase()) + 1, Number(m[1]));
  m = /^([A-Za-z]{3})[a-z]*\.?\s+(\d{1,2}),?\s+(\d{4})$/.exec(value);
  if (m) return plausibleBirthDate(Number(m[3]), MONTHS.indexOf(m[1].toLowerCase()) + 1, Number(m[2]));
  return false;
}

/** Shannon entropy in bits per character. */
const ENTROPY_COUNTS = new Uint32Array(65536);

export function entropy(value: string): number {
  // Per UTF-16 unit with a reused count table (a Map per call was hot on dense text). A value with
  // surrogates goes by code points, as it always did.
  const n = value.length;
  const seen: number[] = [];
  for (let i = 0; i < n; i++) {
    const code = value.charCodeAt(i);
    if (code >= 0xd800 && code <= 0xdfff) {
      for (const c of seen) ENTROPY_COUNTS[c] = 0;
      return entropyByCodePoint(value);
    }
    if (ENTROPY_COUNTS[code]++ === 0) seen.push(code);
  }
  let bits = 0;
  for (const c of seen) {
    const p = ENTROPY_COUNTS[c] / n;
    bits -= p * Math.log2(p);
    ENTROPY_COUNTS[c] = 0;
  }
  return bits;
}

function entropyByCodePoint(value: string): number {
  const counts = new Map<string, number>();
  for (const ch of value) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let bits = 0;
  for (const n of counts.values()) {
    const p = n / value.length;
    bits -= p * Math.log2(p);
  }
  return bits;
}

export function base64UrlJson(part: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** JWT: header decodes to JSON with `alg`. */
export function jwt(value: string): boolean {
  const [header] = value.split('.');
  return typeof base64UrlJson(header)?.alg === 'string';
}

/** Validators selectable by name in custom detector configs. */
export const NAMED_VALIDATORS: Readonly<Record<string, (value: string) => boolean>> = {
  luhn,
  mod97: (value) => mod97(compact(value)) === 1,
  iban,
  verhoeff,
  aadhaar,
  nhs,
  mod11: nhs,
  tfn,
  spain_nif: spainNif,
  spain_nie: spainNie,
  italy_fiscal_code: italyFiscalCode,
  aba: abaRouting,
  cpf,
  bsn,
  eleven_proof: bsn,
  france_nir: franceNir,
  germany_tax_id: germanyTaxId,
  npi,
  dea: deaNumber,
  imei,
  ssn,
  itin,
  ein,
  sin: canadaSin,
  nino: ukNino,
  pan: indiaPan,
  swift: swiftCode,
  credit_card: creditCard,
  ipv4,
  ipv6,
  mac: macAddress,
  jwt,
};
