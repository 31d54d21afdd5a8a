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
