// money.js: amounts typed in major units <-> integer minor units, by the
// currency's exponent (its number of decimal places: GBP 2, JPY 0, KWD 3),
// with string and BigInt arithmetic only (no floating point anywhere near
// money). The exponents come from the gateway (GET /api/currencies, held by
// lib/currencies.js); these functions take the exponent as an argument.

/** Largest amount the page sends: JSON integers stay exact below 2^53. */
export const MAX_MINOR = Number.MAX_SAFE_INTEGER;
/** The most decimal places a currency may have here (ISO 4217 has at most 4). */
export const MAX_EXPONENT = 6;

// Display symbols only (the exponent is never taken from here); other
// currencies show their ISO code after the number.
const SYMBOLS = { GBP: '£', EUR: '€', USD: '$', JPY: '¥' };

/** The symbol shown before an amount of `code`, or null (then the code follows the number). */
export function currencySymbol(code) {
  return SYMBOLS[code] || null;
}

function validExponent(exponent) {
  return Number.isInteger(exponent) && exponent >= 0 && exponent <= MAX_EXPONENT;
}

function decimalsError(exponent, code) {
  if (exponent === 0) return `${code || 'This currency'} has no decimal places: enter a whole number`;
  const word = exponent === 1 ? 'one decimal place' : exponent === 2 ? 'two decimal places' : exponent === 3 ? 'three decimal places' : `${exponent} decimal places`;
  return `Use at most ${word}${code ? ` for ${code}` : ''}`;
}

/** Removes one leading symbol or code of `code` ("£5", "EUR 5", "5 EUR"). */
function stripCurrency(s, code) {
  const sym = currencySymbol(code);
  if (sym && s.startsWith(sym)) return s.slice(sym.length).trim();
  if (code) {
    const up = s.toUpperCase();
    if (up.startsWith(code)) return s.slice(code.length).trim();
    if (up.endsWith(code)) return s.slice(0, s.length - code.length).trim();
  }
  return s;
}

/**
 * Parses an amount typed in major units ("12.34", "12.3", "12", "1,250.00",
 * "£5") into integer minor units with `exponent` decimals (2 by default).
 * Returns {ok:true, minor} or {ok:false, error} with a message meant for
 * people. Rejects more decimals than the currency has, signs, exponents,
 * empty input, zero and anything that is not a plain number.
 */
export function parseAmount(input, exponent = 2, code = '') {
  if (!validExponent(exponent)) return { ok: false, error: `The currency ${code || 'of this account'} is not known to the page yet` };
  if (typeof input !== 'string') input = input == null ? '' : String(input);
  let s = stripCurrency(input.trim(), code);
  if (s === '') return { ok: false, error: exponent > 0 ? `Enter an amount, e.g. 12.${'34'.padEnd(exponent, '0').slice(0, exponent)}` : 'Enter an amount, e.g. 1200' };
  if (/^[+-]/.test(s)) return { ok: false, error: 'Enter a positive amount without a sign' };
  const m = /^(?:(\d+)|(\d{1,3}(?:,\d{3})+))?(?:\.(\d+))?$/.exec(s);
  if (!m || (m[1] === undefined && m[2] === undefined && m[3] === undefined)) {
    return { ok: false, error: `Enter the amount in ${code || 'major units'}, e.g. ${exponent > 0 ? `12.${'5'.repeat(exponent)}` : '1200'}` };
  }
  const whole = (m[1] ?? m[2] ?? '0').replace(/,/g, '');
  const frac = m[3] ?? '';
  if (s.endsWith('.') || (m[3] !== undefined && frac === '')) return { ok: false, error: 'Enter digits after the decimal point' };
  if (frac.length > exponent) return { ok: false, error: decimalsError(exponent, code) };
  const minor = BigInt(whole + frac.padEnd(exponent, '0'));
  if (minor === 0n) return { ok: false, error: 'The amount must be more than zero' };
  if (minor > BigInt(MAX_MINOR)) return { ok: false, error: 'That amount is too large' };
  return { ok: true, minor: Number(minor) };
}

function toBigInt(minor) {
  if (typeof minor === 'bigint') return minor;
  if (Number.isSafeInteger(minor)) return BigInt(minor);
  return null;
}

/** "1234.56" from 123456 and exponent 2 ("-0.05", "1234" for exponent 0); no grouping, no symbol. */
export function minorToInput(minor, exponent = 2) {
  let n = toBigInt(minor);
  if (n === null || !validExponent(exponent)) return '';
  const neg = n < 0n;
  if (neg) n = -n;
  const digits = n.toString().padStart(exponent + 1, '0');
  const whole = digits.slice(0, digits.length - exponent);
  const frac = digits.slice(digits.length - exponent);
  return `${neg ? '-' : ''}${whole}${exponent > 0 ? `.${frac}` : ''}`;
}

/**
 * Formats integer minor units: "£1,234.56", "-€0.05", "¥1,234",
 * "0.005 KWD". An exponent that is not known (the currency table has not
 * come yet, or lacks the code) or an amount that is not an exact integer
 * gives "—": the page never guesses a currency's decimals.
 */
export function formatMoney(minor, currency, exponent) {
  const n = toBigInt(minor);
  if (n === null || !validExponent(exponent)) return '—';
  const text = minorToInput(n < 0n ? -n : n, exponent);
  const [whole, frac] = text.split('.');
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',') + (frac !== undefined ? `.${frac}` : '');
  const sym = currencySymbol(currency);
  const body = sym ? `${sym}${grouped}` : `${grouped} ${currency}`;
  return n < 0n ? `-${body}` : body;
}
