// currencies.js: the currency table as the gateway serves it (GET
// /api/currencies: {"currencies":[{"code","exponent","name"}]}), the one
// source of each currency's exponent for the page. Pure functions over the
// table; the store holds the table once loaded.
//
// A gateway from before issue 21 has no /api/currencies (404) and knows GBP
// alone (exponent 2): legacyCurrencies() is that table, used only then.

const CODE_RE = /^[A-Z]{3}$/;
const MAX_CURRENCIES = 300;

/**
 * The table from the answer of GET /api/currencies: {code: {code, exponent,
 * name}}. Entries with a bad code or exponent are left out; null if the
 * answer has no list at all.
 */
export function currencyTable(answer) {
  const list = answer && Array.isArray(answer.currencies) ? answer.currencies : null;
  if (!list) return null;
  const table = {};
  for (const c of list.slice(0, MAX_CURRENCIES)) {
    if (!c || typeof c.code !== 'string' || !CODE_RE.test(c.code)) continue;
    if (!Number.isInteger(c.exponent) || c.exponent < 0 || c.exponent > 6) continue;
    table[c.code] = { code: c.code, exponent: c.exponent, name: typeof c.name === 'string' ? c.name : c.code };
  }
  return table;
}

/** What a gateway without /api/currencies supports: GBP in pence. */
export function legacyCurrencies() {
  return { GBP: { code: 'GBP', exponent: 2, name: 'Pound sterling' } };
}

/** The exponent of `code` in `table`, or null if the table does not have it. */
export function exponentOf(table, code) {
  const c = table && typeof code === 'string' ? table[code] : null;
  return c ? c.exponent : null;
}
