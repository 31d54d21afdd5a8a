// statement.js: the interval of a statement download (GET
// /api/accounts/{id}/statement?from=&to=&format=csv) from the page's two
// datetime-local inputs, which hold local times without a zone. Pure.

/** The longest interval the page asks for at once (the gateway caps entries, not time). */
export const STATEMENT_MAX_DAYS = 366;
const DAY_MS = 86400000;

/** "2026-12-07T03:04" in the browser's time zone, for a datetime-local input. */
export function localInputValue(ms) {
  const d = new Date(ms);
  if (Number.isNaN(d.getTime())) return '';
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

function parseLocal(text) {
  if (typeof text !== 'string' || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(text)) return NaN;
  return new Date(text).getTime(); // no zone: the browser's local time (ECMAScript date-time form)
}

/**
 * {ok:true, from, to} as RFC 3339 UTC times, or {ok:false, field, error}.
 * An empty `to` means now; `from` is required and must be before `to`.
 */
export function statementRange(fromLocal, toLocal, nowMs) {
  const from = parseLocal(fromLocal);
  if (!Number.isFinite(from)) return { ok: false, field: 'from', error: 'Choose the start of the statement.' };
  const to = toLocal ? parseLocal(toLocal) : nowMs;
  if (!Number.isFinite(to)) return { ok: false, field: 'to', error: 'The end is not a valid time.' };
  if (from >= to) return { ok: false, field: 'to', error: 'The end must be after the start.' };
  if (to - from > STATEMENT_MAX_DAYS * DAY_MS) return { ok: false, field: 'from', error: `At most ${STATEMENT_MAX_DAYS} days at once.` };
  return { ok: true, from: new Date(from).toISOString(), to: new Date(to).toISOString() };
}

/** The statement's URL path for the account and a range from statementRange. */
export function statementPath(account, { from, to }, format = 'csv') {
  const q = new URLSearchParams({ from, to, format });
  return `/api/accounts/${encodeURIComponent(account)}/statement?${q}`;
}

/** The name the page saves a statement under when the gateway gives none. */
export function statementFilename(account, { from, to }) {
  const day = (iso) => iso.slice(0, 19).replace(/:/g, '');
  return `statement-${account}-${day(from)}-${day(to)}.csv`.replace(/[^A-Za-z0-9._-]/g, '_');
}
