import { describe, it, expect } from 'vitest';
import { parseAmount, formatPence, penceToInput, MAX_PENCE } from './money.js';

const ok = (s) => { const r = parseAmount(s); expect(r.ok, `${JSON.stringify(s)} -> ${r.error}`).toBe(true); return r.pence; };
const bad = (s) => { const r = parseAmount(s); expect(r.ok, JSON.stringify(s)).toBe(false); expect(typeof r.error).toBe('string'); return r.error; };

describe('parseAmount', () => {
  it('converts pounds to pence exactly', () => {
    expect(ok('12.34')).toBe(1234);
    expect(ok('12.3')).toBe(1230);
    expect(ok('12')).toBe(1200);
    expect(ok('0.01')).toBe(1);
    expect(ok('0.1')).toBe(10);
    expect(ok('.5')).toBe(50);
    expect(ok('1000.00')).toBe(100000);
    expect(ok('007.50')).toBe(750);
  });
  it('is exact where floating point is not', () => {
    expect(ok('0.29')).toBe(29); // 0.29 * 100 = 28.999999999999996
    expect(ok('1.15')).toBe(115); // 1.15 * 100 = 114.99999999999999
    expect(ok('4.35')).toBe(435);
    expect(ok('1.005'.slice(0, 4))).toBe(100);
    expect(ok('90071992547409.91')).toBe(9007199254740991);
  });
  it('accepts whitespace, a pound sign and correct thousands separators', () => {
    expect(ok('  12.34 ')).toBe(1234);
    expect(ok('£12.34')).toBe(1234);
    expect(ok('£ 5')).toBe(500);
    expect(ok('1,250.00')).toBe(125000);
    expect(ok('1,000,000')).toBe(100000000);
  });
  it('rejects more than two decimals', () => {
    expect(bad('1.234')).toMatch(/two decimal/);
    expect(bad('0.001')).toMatch(/two decimal/);
  });
  it('rejects signs, exponents, words and empty input', () => {
    for (const s of ['-1', '+1', '-0.01', '1e5', '1E5', '1e-2', '', '   ', 'abc', '12abc', '1.2.3', '1,2', '12,34', '1,2345', '0x10',
      'Infinity', 'NaN', '1 000', '١٢', '12.', '.', '£', '1_000']) bad(s);
    expect(bad('')).toMatch(/Enter an amount/);
    expect(bad('-1')).toMatch(/sign/);
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

describe('formatPence', () => {
  it('formats with symbol, grouping and two decimals', () => {
    expect(formatPence(0)).toBe('£0.00');
    expect(formatPence(1)).toBe('£0.01');
    expect(formatPence(1234)).toBe('£12.34');
    expect(formatPence(100000)).toBe('£1,000.00');
    expect(formatPence(123456789)).toBe('£1,234,567.89');
    expect(formatPence(MAX_PENCE)).toBe('£90,071,992,547,409.91');
  });
  it('formats negatives and other currencies', () => {
    expect(formatPence(-1630000)).toBe('-£16,300.00');
    expect(formatPence(-5)).toBe('-£0.05');
    expect(formatPence(1050, 'EUR')).toBe('€10.50');
    expect(formatPence(1050, 'CHF')).toBe('10.50 CHF');
    expect(formatPence(12n)).toBe('£0.12');
  });
  it('refuses what is not an exact integer', () => {
    expect(formatPence(1.5)).toBe('—');
    expect(formatPence(NaN)).toBe('—');
    expect(formatPence(undefined)).toBe('—');
    expect(formatPence('12')).toBe('—');
  });
  it('round-trips through parseAmount', () => {
    for (const p of [1, 9, 10, 99, 100, 101, 1234, 100000, 5000000]) {
      expect(parseAmount(penceToInput(p)).pence).toBe(p);
      expect(parseAmount(formatPence(p)).pence).toBe(p);
    }
  });
});
