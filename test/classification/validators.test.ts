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
  });
});
