// money.js: amounts typed in pounds <-> integer pence, with string and integer
// arithmetic only (no floating point anywhere near money).

/** Largest amount the page sends: JSON integers stay exact below 2^53. */
export const MAX_PENCE = Number.MAX_SAFE_INTEGER;

const PLAIN = /^(\d+)(?:\.(\d{1,2}))?$/;
const GROUPED = /^(\d{1,3}(?:,\d{3})+)(?:\.(\d{1,2}))?$/;
const FRACTION_ONLY = /^\.(\d{1,2})$/;

/**
 * Parses an amount typed in pounds ("12.34", "12.3", "12", "1,250.00", "£5")
 * into integer pence. Returns {ok:true, pence} or {ok:false, error} with a
 * message meant for people. Rejects more than two decimals, signs, exponents,
 * empty input, zero and anything that is not a plain number.
 */
export function parseAmount(input) {
  if (typeof input !== 'string') input = input == null ? '' : String(input);
  let s = input.trim();
  if (s.startsWith('£')) s = s.slice(1).trim();
  if (s === '') return { ok: false, error: 'Enter an amount, e.g. 12.34' };
  if (/^[+-]/.test(s)) return { ok: false, error: 'Enter a positive amount without a sign' };
  let whole, frac;
  let m = PLAIN.exec(s);
  if (m) { whole = m[1]; frac = m[2] || ''; }
  else if ((m = GROUPED.exec(s))) { whole = m[1].replace(/,/g, ''); frac = m[2] || ''; }
  else if ((m = FRACTION_ONLY.exec(s))) { whole = '0'; frac = m[1]; }
  else if (/^\d[\d,]*\.\d{3,}$/.test(s)) return { ok: false, error: 'Use at most two decimal places (pence)' };
  else return { ok: false, error: 'Enter the amount in pounds, e.g. 12.34' };
  const digits = (whole.replace(/^0+(?=\d)/, '') + frac.padEnd(2, '0')).replace(/^0+(?=\d)/, '');
  const pence = BigInt(digits);
  if (pence === 0n) return { ok: false, error: 'The amount must be more than 0.00' };
  if (pence > BigInt(MAX_PENCE)) return { ok: false, error: 'That amount is too large' };
  return { ok: true, pence: Number(pence) };
}

const SYMBOLS = { GBP: '£', EUR: '€', USD: '$' };

/**
 * Formats integer pence as "£1,234.56" (negative: "-£1,234.56"). Other
 * currencies get their symbol or their code ("1,234.56 CHF").
 */
export function formatPence(pence, currency = 'GBP') {
  let n;
  if (typeof pence === 'bigint') n = pence;
  else if (Number.isSafeInteger(pence)) n = BigInt(pence);
  else return '—';
  const negative = n < 0n;
  if (negative) n = -n;
  const whole = (n / 100n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  const frac = (n % 100n).toString().padStart(2, '0');
  const sym = SYMBOLS[currency];
  const body = sym ? `${sym}${whole}.${frac}` : `${whole}.${frac} ${currency}`;
  return negative ? `-${body}` : body;
}

/** "12.34" for an input field (no symbol, no grouping). */
export function penceToInput(pence) {
  const n = BigInt(pence);
  const neg = n < 0n;
  const a = neg ? -n : n;
  return `${neg ? '-' : ''}${a / 100n}.${(a % 100n).toString().padStart(2, '0')}`;
}
