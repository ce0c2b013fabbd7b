import * as v from '../../src/classification/validators';

describe('validators', () => {
  const cases: Array<[string, (value: string) => boolean, string[], string[]]> = [
    ['luhn', v.luhn, ['4111111111111111', '79927398713'], ['4111111111111112', '79927398710']],
    [
      'iban (mod 97)',
      v.iban,
      ['GB82 WEST 1234 5698 7654 32', 'DE89370400440532013000'],
      ['GB82WEST12345698765433', 'XX82WEST12345698765432'],
    ],
    ['verhoeff', v.verhoeff, ['2363', '234567890124'], ['2364', '234567890123']],
    ['aadhaar', v.aadhaar, ['2345 6789 0124'], ['2345 6789 0123', '1345 6789 0124']],
    ['nhs (mod 11)', v.nhs, ['943 476 5919'], ['943 476 5918', '123']],
    ['tfn', v.tfn, ['123 456 782'], ['123 456 789']],
    ['spain nif', v.spainNif, ['12345678Z'], ['12345678A']],
    ['spain nie', v.spainNie, ['X1234567L'], ['X1234567A']],
    ['italy fiscal code', v.italyFiscalCode, ['RSSMRA85T10A562S'], ['RSSMRA85T10A562T']],
    ['aba routing', v.abaRouting, ['011000015'], ['011000016', '991000015']],
    ['cpf', v.cpf, ['529.982.247-25'], ['529.982.247-26', '111.111.111-11']],
    ['bsn (11-proef)', v.bsn, ['111222333'], ['111222334']],
    ['france nir', v.franceNir, ['2 55 08 14 168 025 38'], ['2 55 08 14 168 025 39']],
    ['germany tax id', v.germanyTaxId, ['86095742719'], ['86095742718', '11111111111']],
    ['npi', v.npi, ['1234567893'], ['1234567890']],
    ['dea', v.deaNumber, ['AB1234563'], ['AB1234564']],
    ['imei', v.imei, ['490154203237518'], ['490154203237519']],
    ['ssn', v.ssn, ['536-22-8726'], ['000-12-3456', '666-12-3456', '912-12-3456', '536-00-8726']],
    ['itin', v.itin, ['912-78-1234'], ['912-40-1234', '512-78-1234']],
    ['ein', v.ein, ['12-3456789'], ['07-3456789']],
    ['canada sin', v.canadaSin, ['130 692 544'], ['130 692 545']],
    ['uk nino', v.ukNino, ['AB 12 34 56 C'], ['GB 12 34 56 C', 'AB 12 34 56 E']],
    ['india pan', v.indiaPan, ['ABCPE1234F'], ['ABCQE1234F']],
    ['swift', v.swiftCode, ['DEUTDEFF', 'DEUTDEFF500'], ['DEUTXXFF', 'DEUT']],
    [
      'credit card',
      v.creditCard,
      ['4111 1111 1111 1111', '378282246310005', '5555555555554444'],
      ['4111 1111 1111 1112', '1234567812345670'],
    ],
    ['ipv4', v.ipv4, ['192.168.1.20', '8.8.8.8'], ['256.1.1.1', '01.2.3.4', '0.1.2.3']],
    ['ipv6', v.ipv6, ['2001:db8::8a2e:370:7334', '::1'], ['dead::beef', '2001:db8:::1']],
    ['mac', v.macAddress, ['00:1A:2B:3C:4D:5E'], ['00:00:00:00:00:00', 'ff:ff:ff:ff:ff:ff']],
    [
      'birth date',
      v.birthDate,
      ['1985-03-12', '12/03/1985', '12 March 1985', 'March 12, 1985'],
      ['1985-02-30', '1850-01-01', '2999-01-01'],
    ],
    ['jwt', v.jwt, ['eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig'], ['eyJmb28iOjF9.eyJ4IjoxfQ.sig']],
  ];
  it.each(cases)('%s accepts known-good and rejects known-bad values', (_name, validate, good, bad) => {
    for (const value of good) expect([value, validate(value)]).toEqual([value, true]);
    for (const value of bad) expect([value, validate(value)]).toEqual([value, false]);
  });

  it('entropy separates random strings from repeated ones', () => {
    expect(v.entropy('aaaaaaaa')).toBe(0);
    expect(v.entropy('aB3dE5fG7hJ9kL1m')).toBeGreaterThan(3.9);
    expect(v.entropy('ab')).toBe(1);
  });

  // The checksum validators run without intermediate strings on dense text; these pin them to textbook
  // versions written plainly, on seeded values of every shape (separators, case, wrong checks, lengths).
  const seeded = (seed: number) => (n: number) =>
    ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) % n;

  it('card and Aadhaar checks equal Luhn / Verhoeff on the digits, written plainly', () => {
    const random = seeded(5);
    const digitsOf = (value: string) => value.replace(/\D/g, '');
    const luhn = (digits: string) =>
      [...digits]
        .reverse()
        .reduce((sum, d, i) => sum + (i % 2 ? [0, 2, 4, 6, 8, 1, 3, 5, 7, 9][+d] : +d), 0) %
        10 ===
      0;
    const D = [[0,1,2,3,4,5,6,7,8,9],[1,2,3,4,0,6,7,8,9,5],[2,3,4,0,1,7,8,9,5,6],[3,4,0,1,2,8,9,5,6,7],[4,0,1,2,3,9,5,6,7,8],
      [5,9,8,7,6,0,4,3,2,1],[6,5,9,8,7,1,0,4,3,2],[7,6,5,9,8,2,1,0,4,3],[8,7,6,5,9,3,2,1,0,4],[9,8,7,6,5,4,3,2,1,0]]; // prettier-ignore
    const P = [[0,1,2,3,4,5,6,7,8,9],[1,5,7,6,2,8,3,0,9,4],[5,8,0,3,7,9,6,1,4,2],[8,9,1,6,0,4,3,5,2,7],
      [9,4,5,3,1,2,6,8,7,0],[4,2,8,6,5,7,3,9,0,1],[2,7,9,3,8,0,6,4,1,5],[7,0,4,6,9,1,3,2,5,8]]; // prettier-ignore
    const verhoeff = (digits: string) =>
      digits.length > 0 && [...digits].reverse().reduce((c, d, i) => D[c][P[i % 8][+d]], 0) === 0;
    const issuer = (digits: string): boolean => {
      const n = digits.length;
      const p = (k: number) => Number(digits.slice(0, k));
      if (digits[0] === '4') return [13, 16, 19].includes(n);
      if ((p(2) >= 51 && p(2) <= 55) || (p(4) >= 2221 && p(4) <= 2720)) return n === 16;
      if (p(2) === 34 || p(2) === 37) return n === 15;
      if (p(4) === 6011 || p(2) === 65 || (p(3) >= 644 && p(3) <= 649) || (p(6) >= 622126 && p(6) <= 622925))
        return n >= 16;
      if (p(4) >= 3528 && p(4) <= 3589) return n >= 16;
      if (p(2) === 36 || p(2) === 38 || (p(3) >= 300 && p(3) <= 305)) return n >= 14;
      if (p(2) === 62) return n >= 16;
      if (p(2) === 50 || (p(2) >= 56 && p(2) <= 69)) return n >= 12;
      return false;
    };
    const prefixes = [
      '4',
      '51',
      '2221',
      '2720',
      '34',
      '6011',
      '65',
      '644',
      '622126',
      '3528',
      '36',
      '300',
      '62',
      '50',
      '58',
      '1',
      '9',
    ];
    let cards = 0;
    let aadhaars = 0;
    for (let i = 0; i < 100_000; i++) {
      let value = random(3) ? prefixes[random(prefixes.length)] : '';
      const length = 8 + random(14);
      while (value.length < length) value += String(random(10));
      if (random(2)) value = value.replace(/(\d{4})(?=\d)/g, random(2) ? '$1 ' : '$1-');
      const digits = digitsOf(value);
      const card = digits.length >= 13 && digits.length <= 19 && luhn(digits) && issuer(digits);
      const aadhaar = digits.length === 12 && digits[0] >= '2' && verhoeff(digits);
      if (
        v.creditCard(value) !== card ||
        v.aadhaar(value) !== aadhaar ||
        v.verhoeff(value) !== verhoeff(digits)
      )
        expect({ value, card, aadhaar }).toBe('the same');
      if (card) cards++;
      if (aadhaar) aadhaars++;
    }
    expect(cards).toBeGreaterThan(1_000);
    expect(aadhaars).toBeGreaterThan(500);
  });

  it('IBAN check equals country length, shape and mod 97 of the rearranged value, written plainly', () => {
    const random = seeded(7);
    const plain = (value: string): boolean => {
      const code = value.replace(/[^0-9A-Za-z]/g, '').toUpperCase();
      if (v.IBAN_LENGTHS[code.slice(0, 2)] !== code.length || !/^[A-Z]{2}\d{2}[A-Z0-9]+$/.test(code))
        return false;
      const digits = (code.slice(4) + code.slice(0, 4)).replace(/[A-Z]/g, (c) =>
        String(c.charCodeAt(0) - 55),
      );
      return BigInt(digits) % 97n === 1n;
    };
    const countries = Object.keys(v.IBAN_LENGTHS);
    let valid = 0;
    for (let i = 0; i < 50_000; i++) {
      const country = countries[random(countries.length)];
      const length = v.IBAN_LENGTHS[country] + (random(6) === 0 ? 1 : 0);
      let body = '';
      while (body.length < length - 4)
        body += random(4) === 0 ? String.fromCharCode(65 + random(26)) : String(random(10));
      const digits = (body + country + '00').replace(/[A-Z]/g, (c) => String(c.charCodeAt(0) - 55));
      const check = random(2)
        ? String(98n - (BigInt(digits) % 97n)).padStart(2, '0')
        : String(random(100)).padStart(2, '0');
      let value = country + check + body;
      if (random(3) === 0) value = value.toLowerCase().replace(/(.{4})/g, '$1 ');
      if (v.iban(value) !== plain(value)) expect({ value, valid: plain(value) }).toBe('the same');
      if (plain(value)) valid++;
    }
    expect(valid).toBeGreaterThan(10_000);
  });

  it('mod 97 equals the remainder of the number the letters stand for', () => {
    const random = seeded(3);
    for (let i = 0; i < 20_000; i++) {
      let value = '';
      for (let k = 1 + random(30); k > 0; k--)
        value += random(3) ? String(random(10)) : String.fromCharCode(65 + random(26));
      const digits = value.replace(/[A-Z]/g, (c) => String(c.charCodeAt(0) - 55));
      expect(v.mod97(value)).toBe(Number(BigInt(digits) % 97n));
    }
  });
});
