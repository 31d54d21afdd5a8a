import { describe, it, expect } from 'vitest';
import { apiRequest, postTransfer, ApiError, friendlyError, newIdempotencyKey, UNREACHABLE } from './api.js';

function fakeFetch(status, body, headers = {}) {
  const calls = [];
  const fn = async (url, init) => {
    calls.push({ url, init });
    return new Response(typeof body === 'string' ? body : JSON.stringify(body), { status, headers });
  };
  fn.calls = calls;
  return fn;
}

describe('apiRequest', () => {
  it('returns the data of a 2xx answer', async () => {
    const r = await apiRequest('GET', '/api/accounts', { fetchImpl: fakeFetch(200, { accounts: [] }) });
    expect(r.status).toBe(200);
    expect(r.data).toEqual({ accounts: [] });
  });

  it('maps each API error code to a friendly message with its field', async () => {
    const codes = ['invalid_json', 'missing_field', 'unknown_field', 'invalid_field', 'missing_idempotency_key',
      'invalid_idempotency_key', 'same_account', 'idempotency_key_reused', 'accounts_unavailable',
      'storage_unavailable', 'too_many_streams', 'payload_too_large', 'unsupported_media_type'];
    for (const code of codes) {
      const fetchImpl = fakeFetch(400, { error: { code, message: 'server says no', field: 'amount' } });
      const e = await apiRequest('POST', '/api/transfers', { body: {}, fetchImpl }).catch((x) => x);
      expect(e).toBeInstanceOf(ApiError);
      expect(e.kind).toBe('http');
      expect(e.code).toBe(code);
      expect(e.field).toBe('amount');
      expect(e.message).toBe(friendlyError(code, 'amount', 'server says no'));
      expect(e.message.length).toBeGreaterThan(5);
    }
    expect(friendlyError('same_account')).toMatch(/different accounts/);
    expect(friendlyError('forbidden_account', 'from')).toMatch(/account you own/);
    expect(friendlyError('missing_field', 'to')).toBe('To is required.');
    expect(friendlyError('something_new', null, 'fallback text')).toBe('fallback text');
  });

  it('says the gateway is unreachable on a network error, and that is retryable', async () => {
    const fetchImpl = async () => { throw new TypeError('Failed to fetch'); };
    const e = await apiRequest('GET', '/api/accounts', { fetchImpl }).catch((x) => x);
    expect(e.kind).toBe('network');
    expect(e.message).toBe(UNREACHABLE);
    expect(e.retryable).toBe(true);
  });

  it('treats 503 as retryable and 422 as final', async () => {
    const e503 = await apiRequest('POST', '/x', { fetchImpl: fakeFetch(503, { error: { code: 'accounts_unavailable', message: 'm', field: null } }) }).catch((x) => x);
    expect(e503.retryable).toBe(true);
    const e422 = await apiRequest('POST', '/x', { fetchImpl: fakeFetch(422, { error: { code: 'same_account', message: 'm', field: 'to' } }) }).catch((x) => x);
    expect(e422.retryable).toBe(false);
  });

  it('copes with an error that is not JSON (a proxy page)', async () => {
    const e = await apiRequest('GET', '/x', { fetchImpl: fakeFetch(502, '<html>bad gateway</html>') }).catch((x) => x);
    expect(e.message).toBe(UNREACHABLE);
    const e2 = await apiRequest('GET', '/x', { fetchImpl: fakeFetch(500, 'oops') }).catch((x) => x);
    expect(e2.message).toMatch(/500/);
  });
});

describe('postTransfer', () => {
  it('sends JSON with the Idempotency-Key and reads the replay header', async () => {
    const answer = { id: 'tr_1', status: 'pending', from: 'alice', to: 'bob', amount: 1234, currency: 'GBP', reference: '' };
    const fetchImpl = fakeFetch(202, answer, { 'Idempotent-Replayed': 'true' });
    const r = await postTransfer({ from: 'alice', to: 'bob', amount: 1234, reference: '' }, 'key-1', { fetchImpl });
    expect(r.transfer).toEqual(answer);
    expect(r.replayed).toBe(true);
    const { url, init } = fetchImpl.calls[0];
    expect(url).toBe('/api/transfers');
    expect(init.method).toBe('POST');
    expect(init.headers['Idempotency-Key']).toBe('key-1');
    expect(init.headers['Content-Type']).toBe('application/json');
    expect(JSON.parse(init.body)).toEqual({ from: 'alice', to: 'bob', amount: 1234, currency: 'GBP' });
  });
});

describe('newIdempotencyKey', () => {
  it('makes distinct keys of visible ASCII', () => {
    const a = newIdempotencyKey();
    const b = newIdempotencyKey();
    expect(a).not.toBe(b);
    expect(a).toMatch(/^[\x21-\x7e]{1,255}$/);
  });
});

describe('issue 21 calls', () => {
  it('getCurrencies answers null on a gateway without the route', async () => {
    const { getCurrencies } = await import('./api.js');
    expect(await getCurrencies({ fetchImpl: fakeFetch(404, { error: { code: 'not_found', message: 'no' } }) })).toBe(null);
    const list = { currencies: [{ code: 'EUR', exponent: 2, name: 'Euro' }] };
    expect(await getCurrencies({ fetchImpl: fakeFetch(200, list) })).toEqual(list);
    await expect(getCurrencies({ fetchImpl: fakeFetch(503, { error: { code: 'accounts_unavailable', message: 'x' } }) })).rejects.toBeInstanceOf(ApiError);
  });
  it('postTransfer sends the currency and, for manual capture, expires_in_s', async () => {
    const fetchImpl = fakeFetch(202, { id: 'tr_1', status: 'pending' });
    await postTransfer({ from: 'alice-eur', to: 'bob-eur', amount: 1234, currency: 'EUR', capture: 'manual', expiresInS: 300 }, 'k1', { fetchImpl });
    expect(JSON.parse(fetchImpl.calls[0].init.body)).toEqual({ from: 'alice-eur', to: 'bob-eur', amount: 1234, currency: 'EUR', capture: 'manual', expires_in_s: 300 });
    await postTransfer({ from: 'alice', to: 'bob', amount: 1, capture: 'auto', expiresInS: 300 }, 'k2', { fetchImpl });
    expect(JSON.parse(fetchImpl.calls[1].init.body)).toEqual({ from: 'alice', to: 'bob', amount: 1, currency: 'GBP' });
  });
  it('postTransferAction posts to the action with its key and maps the new error codes', async () => {
    const { postTransferAction } = await import('./api.js');
    const fetchImpl = fakeFetch(202, { id: 'tr_1', status: 'authorized', pending_action: 'capture' });
    const t = await postTransferAction('tr_1', 'capture', { amount: 600 }, 'cap-1', { fetchImpl });
    expect(t.pending_action).toBe('capture');
    expect(fetchImpl.calls[0].url).toBe('/api/transfers/tr_1/capture');
    expect(fetchImpl.calls[0].init.headers['Idempotency-Key']).toBe('cap-1');
    await expect(postTransferAction('tr_1', 'delete', {}, 'k', { fetchImpl })).rejects.toThrow(/unknown action/);
    const e = await postTransferAction('tr_1', 'refunds', { amount: 5 }, 'k', { fetchImpl: fakeFetch(422, { error: { code: 'exceeds_refundable', message: 'x' } }) }).catch((x) => x);
    expect(e.code).toBe('exceeds_refundable');
    expect(e.message).toMatch(/more than the transfer/);
    for (const code of ['invalid_state', 'exceeds_authorized', 'too_many_refunds', 'currency_mismatch', 'unknown_currency', 'statement_too_large']) {
      expect(friendlyError(code)).not.toBe('Something went wrong.');
    }
  });
  it('downloadFile gives the blob and the gateway\'s filename, and errors as ApiError', async () => {
    const { downloadFile, filenameFromDisposition } = await import('./api.js');
    const r = await downloadFile('/api/accounts/alice/statement', 'fallback.csv', {
      fetchImpl: fakeFetch(200, 'seq,at\n1,x\n', { 'Content-Disposition': 'attachment; filename="statement-alice-a-b.csv"' }) });
    expect(r.filename).toBe('statement-alice-a-b.csv');
    expect(await r.blob.text()).toBe('seq,at\n1,x\n');
    const e = await downloadFile('/x', 'f.csv', { fetchImpl: fakeFetch(422, { error: { code: 'statement_too_large', message: 'narrow' } }) }).catch((x) => x);
    expect(e.code).toBe('statement_too_large');
    expect(filenameFromDisposition('attachment; filename="../../etc/passwd"')).toBe('.._.._etc_passwd');
    expect(filenameFromDisposition(null)).toBe(null);
  });
});
