import { describe, it, expect } from 'vitest';
import { currencyTable, legacyCurrencies, exponentOf } from './currencies.js';

describe('currencyTable', () => {
  it('reads the gateway\'s list into a table by code', () => {
    const t = currencyTable({ currencies: [
      { code: 'GBP', exponent: 2, name: 'Pound sterling' }, { code: 'JPY', exponent: 0, name: 'Yen' },
      { code: 'KWD', exponent: 3, name: 'Kuwaiti dinar' },
    ] });
    expect(Object.keys(t)).toEqual(['GBP', 'JPY', 'KWD']);
    expect(exponentOf(t, 'JPY')).toBe(0);
    expect(exponentOf(t, 'KWD')).toBe(3);
    expect(t.GBP.name).toBe('Pound sterling');
  });
  it('leaves out entries with a bad code or exponent', () => {
    const t = currencyTable({ currencies: [
      { code: 'gbp', exponent: 2 }, { code: 'EURO', exponent: 2 }, { code: 'USD', exponent: 2.5 },
      { code: 'CHF', exponent: -1 }, { code: 'XAU', exponent: 9 }, null, { code: 'EUR', exponent: '2' }, { code: 'SEK', exponent: 2 },
    ] });
    expect(Object.keys(t)).toEqual(['SEK']);
    expect(t.SEK.name).toBe('SEK');
  });
  it('is null for an answer without a list', () => {
    expect(currencyTable(null)).toBe(null);
    expect(currencyTable({})).toBe(null);
    expect(currencyTable({ currencies: 'GBP' })).toBe(null);
  });
});

describe('exponentOf', () => {
  it('is null for what the table does not have', () => {
    expect(exponentOf(legacyCurrencies(), 'GBP')).toBe(2);
    expect(exponentOf(legacyCurrencies(), 'EUR')).toBe(null);
    expect(exponentOf(null, 'GBP')).toBe(null);
    expect(exponentOf({}, undefined)).toBe(null);
  });
});
