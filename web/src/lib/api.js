// api.js: a small fetch wrapper for the gateway's HTTP API that turns every
// failure into an ApiError with a friendly message.

export class ApiError extends Error {
  /**
   * kind: 'network' (the gateway could not be reached; the request may be
   * retried with the same Idempotency-Key), 'http' (the gateway answered with
   * an error), 'invalid_response' (the gateway answered something unreadable).
   */
  constructor({ kind, status = 0, code = null, field = null, message, detail = null }) {
    super(message);
    this.name = 'ApiError';
    this.kind = kind;
    this.status = status;
    this.code = code;
    this.field = field;
    this.detail = detail;
  }
  get retryable() {
    return this.kind === 'network' || this.status === 503 || this.status === 502 || this.status === 504;
  }
}

const FIELD_NAMES = {
  from: 'From', to: 'To', amount: 'Amount', currency: 'Currency', reference: 'Reference', account: 'Account',
  expires_in_s: 'Expires in', capture: 'Capture', from_date: 'From', to_date: 'To',
};

/** A message for people for each error code the gateway sends. */
export function friendlyError(code, field, serverMessage) {
  const f = field ? (FIELD_NAMES[field] || field) : null;
  switch (code) {
    case 'invalid_json': return 'The gateway could not read the request (invalid JSON).';
    case 'missing_field': return f ? `${f} is required.` : 'A required field is missing.';
    case 'unknown_field': return `The gateway does not know the field "${field}".`;
    case 'invalid_field': return f ? `${f} is not valid${serverMessage ? `: ${serverMessage}` : '.'}` : `A field is not valid${serverMessage ? `: ${serverMessage}` : '.'}`;
    case 'missing_idempotency_key': return 'The request had no Idempotency-Key; please send it again.';
    case 'invalid_idempotency_key': return 'The Idempotency-Key was not accepted (1–255 visible ASCII characters).';
    case 'same_account': return 'From and To must be different accounts.';
    case 'idempotency_key_reused': return 'This Idempotency-Key was already used for a different transfer.';
    case 'accounts_unavailable': return 'The accounts service is not answering right now. Try again in a moment.';
    case 'storage_unavailable': return 'The gateway cannot store the transfer right now. Try again in a moment.';
    case 'too_many_streams': return 'Too many live streams are open on the gateway; live updates are paused.';
    case 'payload_too_large': return 'The request is too large.';
    case 'unsupported_media_type': return 'The gateway only accepts JSON.';
    case 'not_found': return 'Not found.';
    case 'method_not_allowed': return 'That action is not allowed.';
    case 'internal_error': return 'The gateway hit an internal error.';
    case 'unauthenticated': return 'Not signed in, or this key was revoked: open the sign-in link from scripts/demo.sh again.';
    case 'forbidden': return 'The principal you are signed in as may not do that.';
    case 'rate_limited': return 'Too many requests from this principal: wait a moment and try again.';
    case 'forbidden_account': return 'You can only send money from an account you own.';
    case 'amount_too_large': return 'That is more than one deposit may be.';
    case 'settlement_account': return 'Choose a customer account, not the settlement account.';
    case 'unsupported_currency': return 'The gateway does not move money in or out in this currency.';
    case 'unknown_currency': return 'The ledger does not know that currency.';
    case 'currency_mismatch': return 'Both accounts and the transfer must be in the same currency.';
    case 'invalid_state': return 'That is no longer possible: the transfer is not in a state that allows it (already captured, voided, expired, or an action is on its way).';
    case 'exceeds_authorized': return 'You can capture at most the authorised amount.';
    case 'exceeds_refundable': return 'The refunds would add up to more than the transfer.';
    case 'too_many_refunds': return 'This transfer has had as many refunds as it may have (50).';
    case 'account_frozen': return 'The account is frozen: it cannot send money.';
    case 'account_closed': return 'The account is closed.';
    case 'account_not_empty': return 'An account can only be closed with a zero balance and no holds.';
    case 'statement_too_large': return 'The statement has too many entries: choose a shorter interval.';
    case 'invalid_query': return f ? `${f} is not valid${serverMessage ? `: ${serverMessage}` : '.'}` : (serverMessage || 'The query is not valid.');
    default: return serverMessage || 'Something went wrong.';
  }
}

export const UNREACHABLE = 'The gateway cannot be reached. Check that the demo is running; your transfer can be retried safely.';

// The API key of the principal the page speaks as (lib/session.js); every
// request carries it as "Authorization: Bearer <key>".
let apiKey = null;
export function setApiKey(key) { apiKey = key || null; }

/**
 * Sends one request. Resolves to {status, data, headers} for 2xx answers;
 * throws an ApiError otherwise.
 */
export async function apiRequest(method, path, { body, headers = {}, fetchImpl, timeoutMs = 15000 } = {}) {
  const doFetch = fetchImpl || globalThis.fetch.bind(globalThis);
  const init = { method, headers: { Accept: 'application/json', ...headers } };
  if (apiKey && !init.headers.Authorization) init.headers.Authorization = `Bearer ${apiKey}`;
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers['Content-Type'] = 'application/json';
  }
  if (typeof AbortSignal !== 'undefined' && AbortSignal.timeout) init.signal = AbortSignal.timeout(timeoutMs);
  let res;
  try {
    res = await doFetch(path, init);
  } catch (e) {
    throw new ApiError({ kind: 'network', message: UNREACHABLE, detail: String(e && e.message || e) });
  }
  const text = await res.text().catch(() => '');
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  if (res.ok) {
    if (text && data === null) {
      throw new ApiError({ kind: 'invalid_response', status: res.status, message: 'The gateway sent an answer the page cannot read.' });
    }
    return { status: res.status, data, headers: res.headers };
  }
  const err = data && data.error;
  if (err && typeof err.code === 'string') {
    throw new ApiError({
      kind: 'http', status: res.status, code: err.code, field: err.field ?? null,
      message: friendlyError(err.code, err.field, err.message), detail: err.message || null,
    });
  }
  if (res.status === 502 || res.status === 503 || res.status === 504) {
    throw new ApiError({ kind: 'http', status: res.status, message: UNREACHABLE });
  }
  throw new ApiError({ kind: 'http', status: res.status, message: `The gateway answered ${res.status}.` });
}

export function newIdempotencyKey() {
  if (globalThis.crypto && typeof globalThis.crypto.randomUUID === 'function') return globalThis.crypto.randomUUID();
  // randomUUID needs a secure context; on plain http from another host fall back to getRandomValues.
  const b = new Uint8Array(16);
  globalThis.crypto.getRandomValues(b);
  b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export const getAccounts = (o) => apiRequest('GET', '/api/accounts?limit=200', o).then((r) => r.data.accounts || []);
export const listTransfers = (limit = 50, o) => apiRequest('GET', `/api/transfers?limit=${limit}`, o).then((r) => r.data.transfers || []);
/** A one-use token for GET /api/events?token= (EventSource cannot send the key). */
export const getStreamToken = (o) => apiRequest('POST', '/api/stream-tokens', o).then((r) => r.data.token);
export const getTransfer = (id, o) => apiRequest('GET', `/api/transfers/${encodeURIComponent(id)}`, o).then((r) => r.data);

/** GET /api/currencies: {"currencies":[{code, exponent, name}]}; a 404 (a gateway before the route) resolves to null. */
export async function getCurrencies(o) {
  try {
    return (await apiRequest('GET', '/api/currencies', o)).data;
  } catch (e) {
    if (e instanceof ApiError && e.kind === 'http' && e.status === 404) return null;
    throw e;
  }
}

/** GET /api/accounts/{id}?expand=holds: the account with its open holds. */
export const getAccountWithHolds = (id, o) => apiRequest('GET', `/api/accounts/${encodeURIComponent(id)}?expand=holds`, o).then((r) => r.data);

/** PATCH /api/accounts/{id} (operators, accounts:manage): {status?, overdraft_limit?}; resolves to the account. */
export const patchAccount = (id, body, o) => apiRequest('PATCH', `/api/accounts/${encodeURIComponent(id)}`, { ...o, body }).then((r) => r.data);

/** GET /api/accounts with another principal's key (the page's directory of payees). */
export const getAccountsAs = (asKey, o = {}) => apiRequest('GET', '/api/accounts?limit=200', { ...o, headers: { Authorization: `Bearer ${asKey}` } })
  .then((r) => r.data.accounts || []);

/**
 * POST /api/transfers with the given key. Resolves to {transfer, replayed}.
 * `asKey` (optional) sends it with another principal's API key than the page's.
 * `capture: 'manual'` authorises only, for `expiresInS` seconds.
 */
export async function postTransfer({ from, to, amount, currency = 'GBP', reference, capture, expiresInS, asKey }, key, o = {}) {
  const body = { from, to, amount, currency };
  if (reference) body.reference = reference;
  if (capture === 'manual') {
    body.capture = 'manual';
    if (expiresInS !== undefined) body.expires_in_s = expiresInS;
  }
  const headers = { 'Idempotency-Key': key };
  if (asKey) headers.Authorization = `Bearer ${asKey}`;
  const r = await apiRequest('POST', '/api/transfers', { ...o, body, headers });
  return { transfer: r.data, replayed: r.headers && r.headers.get && r.headers.get('Idempotent-Replayed') === 'true' };
}

/** POST /api/deposits (operators): `amount` minor units of `currency` into `account` from its settlement account. */
export async function postDeposit({ account, amount, currency = 'GBP', reference }, key, o = {}) {
  const body = { account, amount, currency };
  if (reference) body.reference = reference;
  const r = await apiRequest('POST', '/api/deposits', { ...o, body, headers: { 'Idempotency-Key': key } });
  return { transfer: r.data };
}

/**
 * An action on a transfer, each with its Idempotency-Key: 'capture' (body
 * {amount?}), 'void' ({}), 'refunds' ({amount?, reference?}). Resolves to the
 * transfer of the 202 answer (for a refund: the new refund transfer).
 */
export async function postTransferAction(id, action, body, key, o = {}) {
  if (!['capture', 'void', 'refunds'].includes(action)) throw new Error(`unknown action ${action}`);
  const r = await apiRequest('POST', `/api/transfers/${encodeURIComponent(id)}/${action}`, { ...o, body: body || {}, headers: { 'Idempotency-Key': key } });
  return r.data;
}

/**
 * GET of a file (a CSV statement) with the key: resolves to {blob, filename}
 * (filename from Content-Disposition, else `fallbackName`); errors as apiRequest.
 */
export async function downloadFile(path, fallbackName, { fetchImpl, timeoutMs = 30000 } = {}) {
  const doFetch = fetchImpl || globalThis.fetch.bind(globalThis);
  const init = { method: 'GET', headers: { Accept: 'text/csv' } };
  if (apiKey) init.headers.Authorization = `Bearer ${apiKey}`;
  if (typeof AbortSignal !== 'undefined' && AbortSignal.timeout) init.signal = AbortSignal.timeout(timeoutMs);
  let res;
  try {
    res = await doFetch(path, init);
  } catch (e) {
    throw new ApiError({ kind: 'network', message: UNREACHABLE, detail: String(e && e.message || e) });
  }
  if (!res.ok) {
    let err = null;
    try { err = JSON.parse(await res.text()).error; } catch { err = null; }
    if (err && typeof err.code === 'string') {
      throw new ApiError({ kind: 'http', status: res.status, code: err.code, field: err.field ?? null,
        message: friendlyError(err.code, err.field, err.message), detail: err.message || null });
    }
    throw new ApiError({ kind: 'http', status: res.status, message: `The gateway answered ${res.status}.` });
  }
  const blob = await res.blob();
  return { blob, filename: filenameFromDisposition(res.headers.get('Content-Disposition')) || fallbackName };
}

/** The filename of `attachment; filename="x.csv"`, or null; never a path. */
export function filenameFromDisposition(header) {
  const m = /filename="([^"]{1,200})"/.exec(header || '') || /filename=([^;\s]{1,200})/.exec(header || '');
  if (!m) return null;
  const name = m[1].replace(/[\\/]/g, '_');
  return name && name !== '.' && name !== '..' ? name : null;
}
