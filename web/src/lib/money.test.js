import { describe, it, expect } from 'vitest';
import { parseAmount, formatMoney, minorToInput, currencySymbol, MAX_MINOR } from './money.js';

const ok = (s, e = 2, c = 'GBP') => { const r = parseAmount(s, e, c); expect(r.ok, `${JSON.stringify(s)} -> ${r.error}`).toBe(true); return r.minor; };
const bad = (s, e = 2, c = 'GBP') => { const r = parseAmount(s, e, c); expect(r.ok, JSON.stringify(s)).toBe(false); expect(typeof r.error).toBe('string'); return r.error; };

describe('parseAmount with exponent 2 (GBP, EUR)', () => {
  it('converts major to minor units exactly', () => {
    expect(ok('12.34')).toBe(1234);
    expect(ok('12.3')).toBe(1230);
    expect(ok('12')).toBe(1200);
    expect(ok('0.01')).toBe(1);
    expect(ok('.5')).toBe(50);
    expect(ok('1000.00')).toBe(100000);
    expect(ok('007.50')).toBe(750);
  });
  it('is exact where floating point is not', () => {
    expect(ok('0.29')).toBe(29); // 0.29 * 100 = 28.999999999999996
    expect(ok('1.15')).toBe(115);
    expect(ok('4.35')).toBe(435);
    expect(ok('90071992547409.91')).toBe(9007199254740991);
  });
  it('accepts whitespace, the symbol or code of the currency and correct thousands separators', () => {
    expect(ok('  12.34 ')).toBe(1234);
    expect(ok('£12.34')).toBe(1234);
    expect(ok('£ 5')).toBe(500);
    expect(ok('GBP 5')).toBe(500);
    expect(ok('5 gbp')).toBe(500);
    expect(ok('€5.10', 2, 'EUR')).toBe(510);
    expect(ok('1,250.00')).toBe(125000);
    expect(ok('1,000,000')).toBe(100000000);
  });
  it('does not take another currency\'s symbol', () => {
    bad('€5', 2, 'GBP');
    bad('£5', 2, 'EUR');
  });
  it('rejects more decimals than the currency has', () => {
    expect(bad('1.234')).toMatch(/two decimal places for GBP/);
    expect(bad('0.001')).toMatch(/two decimal/);
  });
  it('rejects signs, exponents, words and empty input', () => {
    for (const s of ['-1', '+1', '-0.01', '1e5', '1E5', '1e-2', '', '   ', 'abc', '12abc', '1.2.3', '1,2', '12,34', '1,2345', '0x10',
      'Infinity', 'NaN', '1 000', '١٢', '12.', '.', '£', '1_000']) bad(s);
    expect(bad('')).toMatch(/Enter an amount/);
    expect(bad('-1')).toMatch(/sign/);
    expect(bad('abc')).toMatch(/in GBP/);
  });
  it('rejects zero and amounts beyond exact JSON integers', () => {
    expect(bad('0')).toMatch(/more than/);
    expect(bad('0.00')).toMatch(/more than/);
    expect(bad('90071992547409.92')).toMatch(/too large/);
    expect(bad('99999999999999999999999')).toMatch(/too large/);
  });
  it('handles non-string input', () => {
    bad(null); bad(undefined);
    expect(ok(12)).toBe(1200);
  });
});

describe('parseAmount with other exponents', () => {
  it('JPY (0): whole numbers only', () => {
    expect(ok('1234', 0, 'JPY')).toBe(1234);
    expect(ok('¥1,234', 0, 'JPY')).toBe(1234);
    expect(bad('12.5', 0, 'JPY')).toMatch(/no decimal places/);
    expect(bad('12.0', 0, 'JPY')).toMatch(/no decimal places/);
  });
  it('KWD (3): three decimals', () => {
    expect(ok('0.005', 3, 'KWD')).toBe(5);
    expect(ok('1.5', 3, 'KWD')).toBe(1500);
    expect(ok('12.345', 3, 'KWD')).toBe(12345);
    expect(bad('1.2345', 3, 'KWD')).toMatch(/three decimal places/);
  });
  it('refuses to parse when the exponent is not known', () => {
    expect(bad('12', null, 'XYZ')).toMatch(/not known/);
    expect(bad('12', 7)).toMatch(/not known/);
    expect(bad('12', -1)).toMatch(/not known/);
  });
});

describe('formatMoney', () => {
  it('formats with symbol, grouping and the exponent\'s decimals', () => {
    expect(formatMoney(0, 'GBP', 2)).toBe('£0.00');
    expect(formatMoney(1, 'GBP', 2)).toBe('£0.01');
    expect(formatMoney(1234, 'GBP', 2)).toBe('£12.34');
    expect(formatMoney(123456789, 'GBP', 2)).toBe('£1,234,567.89');
    expect(formatMoney(MAX_MINOR, 'GBP', 2)).toBe('£90,071,992,547,409.91');
    expect(formatMoney(1050, 'EUR', 2)).toBe('€10.50');
    expect(formatMoney(1234, 'JPY', 0)).toBe('¥1,234');
    expect(formatMoney(5, 'KWD', 3)).toBe('0.005 KWD');
    expect(formatMoney(1234567, 'KWD', 3)).toBe('1,234.567 KWD');
    expect(formatMoney(1050, 'CHF', 2)).toBe('10.50 CHF');
    expect(formatMoney(12n, 'GBP', 2)).toBe('£0.12');
  });
  it('formats negatives', () => {
    expect(formatMoney(-1630000, 'GBP', 2)).toBe('-£16,300.00');
    expect(formatMoney(-5, 'EUR', 2)).toBe('-€0.05');
    expect(formatMoney(-5, 'KWD', 3)).toBe('-0.005 KWD');
  });
  it('refuses what is not an exact integer or has no known exponent', () => {
    expect(formatMoney(1.5, 'GBP', 2)).toBe('—');
    expect(formatMoney(NaN, 'GBP', 2)).toBe('—');
    expect(formatMoney(undefined, 'GBP', 2)).toBe('—');
    expect(formatMoney('12', 'GBP', 2)).toBe('—');
    expect(formatMoney(12, 'XYZ', null)).toBe('—');
    expect(formatMoney(12, 'GBP', undefined)).toBe('—');
  });
  it('round-trips through parseAmount for each exponent', () => {
    for (const [code, e] of [['GBP', 2], ['JPY', 0], ['KWD', 3], ['CHF', 2]]) {
      for (const p of [1, 9, 10, 99, 100, 101, 1234, 100000, 5000000]) {
        expect(parseAmount(minorToInput(p, e), e, code).minor).toBe(p);
        expect(parseAmount(formatMoney(p, code, e), e, code).minor).toBe(p);
      }
    }
  });
});

describe('minorToInput and currencySymbol', () => {
  it('writes plain decimals', () => {
    expect(minorToInput(1234, 2)).toBe('12.34');
    expect(minorToInput(5, 3)).toBe('0.005');
    expect(minorToInput(-5, 2)).toBe('-0.05');
    expect(minorToInput(1234, 0)).toBe('1234');
    expect(minorToInput(1.5, 2)).toBe('');
  });
  it('has symbols for a few currencies only', () => {
    expect(currencySymbol('EUR')).toBe('€');
    expect(currencySymbol('KWD')).toBe(null);
  });
});
