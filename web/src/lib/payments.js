// payments.js: what the page offers on one transfer (capture, void, refund),
// the expiry countdown of an authorisation and readable texts for decline
// codes. Pure functions; the gateway decides (409 invalid_state, 422
// exceeds_authorized / exceeds_refundable, 404 for others' transfers): the
// page only offers what it expects to be accepted.

import { ownedBy } from './owners.js';

/** Capture choices of POST /api/transfers: auto (settle at once) or manual (authorise, capture later). */
export const CAPTURE_MODES = ['auto', 'manual'];
/** expires_in_s the form offers for manual capture (the gateway takes 1 .. 2592000, default 604800). */
export const EXPIRY_CHOICES = [
  { seconds: 30, label: '30 seconds (watch it expire)' },
  { seconds: 60, label: '1 minute' },
  { seconds: 300, label: '5 minutes' },
  { seconds: 3600, label: '1 hour' },
  { seconds: 86400, label: '1 day' },
  { seconds: 604800, label: '7 days' },
  { seconds: 2592000, label: '30 days' },
];
export const EXPIRES_IN_MIN_S = 1;
export const EXPIRES_IN_MAX_S = 2592000;
export const EXPIRES_IN_DEFAULT_S = 604800;

/** True if `seconds` is an expires_in_s the gateway accepts. */
export function validExpiresIn(seconds) {
  return Number.isInteger(seconds) && seconds >= EXPIRES_IN_MIN_S && seconds <= EXPIRES_IN_MAX_S;
}

/** The operator acts on any transfer; a customer on what its accounts allow. */
export const isOperator = (principal) => principal === 'operator';

function accountOf(accounts, id) {
  return (accounts || []).find((a) => a.id === id) || { id };
}

/**
 * Capture and void: an authorised transfer without an action in flight, by
 * the owner of `from` or an operator.
 */
export function canCaptureOrVoid(t, principal, accounts) {
  if (!t || t.optimistic || t.status !== 'authorized' || t.pending_action) return false;
  return isOperator(principal) || ownedBy(accountOf(accounts, t.from), principal);
}

/** What was settled: captured_amount for a capture, else the amount. */
export function settledAmount(t) {
  return Number.isSafeInteger(t && t.captured_amount) ? t.captured_amount : (t ? t.amount : 0);
}

/** What can still be refunded, as far as the page knows (settled refunds counted). */
export function refundableAmount(t) {
  if (!t || t.status !== 'settled') return 0;
  const refunded = Number.isSafeInteger(t.refunded_amount) ? t.refunded_amount : 0;
  return Math.max(0, settledAmount(t) - refunded);
}

/**
 * Refund: a settled plain transfer (kind transfer) with something left to
 * refund, by the owner of `to` (the payee gives the money back) or an operator.
 */
export function canRefund(t, principal, accounts) {
  if (!t || t.optimistic || t.status !== 'settled') return false;
  if ((t.kind || 'transfer') !== 'transfer') return false;
  if (refundableAmount(t) <= 0) return false;
  return isOperator(principal) || ownedBy(accountOf(accounts, t.to), principal);
}

/**
 * The time left of an authorisation: {expired, text, ms}, e.g. "6d 23h 59m",
 * "4m 05s", "12s"; expired (text "expired") once expires_at has passed.
 * null without a readable expires_at.
 */
export function expiryCountdown(expiresAt, nowMs) {
  const end = Date.parse(expiresAt);
  if (!Number.isFinite(end) || !Number.isFinite(nowMs)) return null;
  const ms = end - nowMs;
  if (ms <= 0) return { expired: true, text: 'expired', ms: 0 };
  const total = Math.ceil(ms / 1000);
  const d = Math.floor(total / 86400);
  const h = Math.floor((total % 86400) / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const p = (n) => String(n).padStart(2, '0');
  let text;
  if (d > 0) text = `${d}d ${h}h ${p(m)}m`;
  else if (h > 0) text = `${h}h ${p(m)}m ${p(s)}s`;
  else if (m > 0) text = `${m}m ${p(s)}s`;
  else text = `${s}s`;
  return { expired: false, text, ms };
}

// What each decline (and end) code means, for people. The gateway's own
// message is shown next to it.
const REASONS = {
  insufficient_funds: 'Not enough money available (balance minus holds, plus any overdraft).',
  unknown_account: 'One of the accounts does not exist.',
  currency_mismatch: 'The accounts and the transfer are not in the same currency.',
  unknown_currency: 'The currency is not one the ledger knows.',
  account_frozen: 'The paying account is frozen: it cannot send money (it can still receive).',
  account_closed: 'An account is closed: nothing moves in or out of it.',
  risk_unavailable: 'The fraud check gave no verdict in time, so the hold was released.',
  exceeds_refundable: 'The refunds would add up to more than the transfer.',
  not_refundable: 'Only settled transfers can be refunded, back the way they came.',
  forbidden_account: 'The sender does not own the paying account.',
  invalid_kind: 'This kind of transfer is not allowed between these accounts.',
  settlement_limit: 'The settlement account cannot take this.',
  deposit_too_large: 'That is more than one deposit may be.',
  voided: 'The authorisation was voided: the hold was released.',
  expired: 'The authorisation expired before it was captured: the hold was released.',
};

/** A sentence for a decline or end code; the code itself for one the page does not know. */
export function reasonText(code) {
  return REASONS[code] || code || '';
}
