// openapi_check.js: real answers of a running mesh (the three node binaries,
// tests/e2e/mesh.js) checked against openapi.yaml. Every answer must be one
// the spec lists for its route and method, with a documented content type; a
// JSON body must match that answer's schema (ajv, JSON Schema 2020-12 as
// OpenAPI 3.1 uses it; the spec's objects forbid undocumented keys), and an
// error's code must be named in that answer's description. Events of GET
// /api/events are checked against the schemas its x-sse-events names.
//
// Run: ctest -R openapi_schema (label e2e), or
//   LEDGER_BUILD_DIR=../../build node --test openapi_check.js
//
// Issue 21's routes are checked to the contract as well. Until the gateway
// has them, a test of one SKIPS (with the reason) only when the route answers
// what the gateway answers for a route it does not have yet: 404 with the
// message "no such resource". New behaviour of existing routes is probed the
// same way, each probe named in its skip message: the transfer list's filters
// (status=bogus is not 400), manual capture (POST /api/transfers refuses the
// field `capture`) and expand=holds (no `holds` in the answer).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { Mesh, repoRoot, waitUntil } from './mesh.js';

const specText = fs.readFileSync(path.join(repoRoot, 'openapi.yaml'), 'utf8');
const spec = YAML.parse(specText);
const ajv = new Ajv2020({ strict: false, allErrors: true, validateSchema: false });
addFormats(ajv);
ajv.addSchema(spec, 'openapi');

// Velocity and new-payee rules out of the way (the test sends many transfers from few
// accounts); the 1,000.00 threshold stays, for a rejected_fraud answer.
const RULES = 'velocity_max_count = 1000\nvelocity_max_sum_minor = 100000000\n' +
  'new_payee_limit_minor = 100000000\n';

let mesh;
let seq = 0;
const key = (what) => `oa-${what}-${process.pid}-${++seq}`;

before(async () => {
  const rules = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-oa-')), 'fraud.rules');
  fs.writeFileSync(rules, RULES);
  process.env.LEDGER_FRAUD_RULES = rules;
  mesh = new Mesh();
  await mesh.startAll();
});

after(async () => {
  if (mesh) await mesh.close();
});

// --- checking one answer against the spec ------------------------------------

function deref(obj) {
  let at = obj;
  let pointer = null;
  while (at && at.$ref) {
    pointer = at.$ref;
    at = pointer.slice(2).split('/').reduce((o, k) => o[k.replace(/~1/g, '/').replace(/~0/g, '~')], spec);
  }
  return at;
}

const compiled = new Map();
/** A validator of `schema` (a schema object of the spec), its #/ refs read in the spec. */
function validatorOf(schema) {
  const text = JSON.stringify(schema);
  if (!compiled.has(text)) {
    const rebased = JSON.parse(text.replace(/"\$ref":"#\//g, '"$ref":"openapi#/'));
    compiled.set(text, ajv.compile(rebased));
  }
  return compiled.get(text);
}

function schemaByName(name) {
  return validatorOf({ $ref: `#/components/schemas/${name}` });
}

function assertValid(validate, value, what) {
  if (!validate(value)) {
    assert.fail(`${what} does not match openapi.yaml:\n${ajv.errorsText(validate.errors, { separator: '\n' })}\n` +
      `answer: ${JSON.stringify(value).slice(0, 2000)}`);
  }
}

/** Fails unless `res` (mesh.request's {status, data, headers}) is an answer the spec lists
 *  for `method` `route` (a path of the spec), with a body that matches. Returns res. */
function conforms(res, method, route) {
  const item = spec.paths[route];
  assert.ok(item, `${route} is not in openapi.yaml`);
  const op = item[method.toLowerCase()];
  assert.ok(op, `${method} ${route} is not in openapi.yaml`);
  const answer = deref(op.responses[String(res.status)]);
  assert.ok(answer, `${method} ${route} answered ${res.status}, which openapi.yaml does not list ` +
    `(${Object.keys(op.responses).join(', ')}): ${JSON.stringify(res.data).slice(0, 400)}`);
  const type = (res.headers.get('content-type') || '').split(';')[0].trim();
  assert.ok(answer.content && answer.content[type],
    `${method} ${route} ${res.status} answered ${type || 'no content type'}, which openapi.yaml does not list`);
  if (type === 'application/json') {
    assertValid(validatorOf(answer.content[type].schema), res.data, `${method} ${route} ${res.status}`);
    if (res.data && res.data.error) {
      assert.ok(answer.description.includes(`\`${res.data.error.code}\``),
        `${method} ${route} ${res.status}: the code ${res.data.error.code} is not named in its description`);
    }
  }
  return res;
}

/** The gateway's answer for a route it does not have yet (gateway_http.c). */
const unbuilt = (res) => res.status === 404 && res.data?.error?.message === 'no such resource';

/** mesh.request, checked against the spec; with `probe`, an answer of a route the gateway
 *  does not have yet comes back unchecked (the caller skips). */
async function call(method, url, route, opts = {}) {
  const res = await mesh.request(method, url, opts);
  return opts.probe && unbuilt(res) ? res : conforms(res, method, route);
}

/** A method the route does not take: 405 method_not_allowed with Allow, as every
 *  operation's 405 answer (MethodNotAllowed) says. */
async function notAllowed(method, url, allow) {
  const res = await mesh.request(method, url, { body: method === 'POST' ? {} : undefined });
  assert.equal(res.status, 405);
  assert.equal(res.headers.get('allow'), allow);
  const answer = deref({ $ref: '#/components/responses/MethodNotAllowed' });
  assertValid(validatorOf(answer.content['application/json'].schema), res.data, `${method} ${url}`);
  assert.ok(answer.description.includes(`\`${res.data.error.code}\``));
}

/** A new principal with `scopes` (gateway admin port) and its key; null if the admin
 *  refuses the scopes (a scope the gateway does not know yet). */
async function principal(id, kind, scopes) {
  const admin = `http://127.0.0.1:${mesh.ports.gateway.admin}`;
  const made = await fetch(`${admin}/principals`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ id, kind, scopes }),
  });
  if (made.status !== 200 && made.status !== 201) return null;
  const k = await fetch(`${admin}/principals/${id}/keys`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
  });
  assert.equal(k.status, 201);
  mesh.keys[id] = (await k.json()).key;
  return mesh.keys[id];
}

async function post(url, route, body, { as = 'operator', idem = key('p'), headers = {}, probe = false } = {}) {
  return call('POST', url, route, { body, as, probe, headers: { 'Idempotency-Key': idem, ...headers } });
}

async function waitStatus(id, wanted) {
  return waitUntil(async () => {
    const t = await call('GET', `/api/transfers/${id}`, '/api/transfers/{id}');
    return wanted.includes(t.data.status) ? t.data : null;
  }, { what: `transfer ${id} to be ${wanted.join(' or ')}` });
}

// --- the routes of today ------------------------------------------------------

test('GET /api/openapi.yaml serves this very file', async () => {
  const res = await fetch(`${mesh.baseUrl}/api/openapi.yaml`, {
    headers: { Authorization: `Bearer ${mesh.keys.alice}` },
  });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'application/yaml');
  assert.equal(await res.text(), specText);
  conforms(await mesh.request('GET', '/api/openapi.yaml', { headers: { Authorization: 'Bearer x' } }),
    'GET', '/api/openapi.yaml');
});

test('GET /api/health', async () => {
  await call('GET', '/api/health', '/api/health');
  await notAllowed('POST', '/api/health', 'GET, HEAD');
});

test('POST /api/transfers: accepted, replayed, and each refusal', async () => {
  const idem = key('t');
  const body = { from: 'alice', to: 'bob', amount: 1250, currency: 'GBP', reference: 'lunch' };
  const first = await post('/api/transfers', '/api/transfers', body, { as: 'alice', idem });
  assert.equal(first.status, 202);
  assert.equal(first.headers.get('location'), `/api/transfers/${first.data.id}`);
  const again = await post('/api/transfers', '/api/transfers', body, { as: 'alice', idem });
  assert.equal(again.headers.get('idempotent-replayed'), 'true');
  const reused = await post('/api/transfers', '/api/transfers', { ...body, amount: 7 }, { as: 'alice', idem });
  assert.equal(reused.data.error.code, 'idempotency_key_reused');
  const refusals = [
    [{ ...body, from: 'carol' }, 403, 'forbidden_account'],
    [{ ...body, to: 'alice' }, 422, 'same_account'],
    [{ ...body, memo: 'x' }, 400, 'unknown_field'],
    [{ from: 'alice', to: 'bob' }, 400, 'missing_field'],
    [{ ...body, amount: -5 }, 400, 'invalid_field'],
    ['{"from":', 400, 'invalid_json'],
  ];
  for (const [b, status, code] of refusals) {
    const r = await post('/api/transfers', '/api/transfers', b, { as: 'alice' });
    assert.deepEqual([r.status, r.data.error.code], [status, code], JSON.stringify(b));
  }
  const nokey = await call('POST', '/api/transfers', '/api/transfers', { body, as: 'alice' });
  assert.equal(nokey.data.error.code, 'missing_idempotency_key');
  const text = await call('POST', '/api/transfers', '/api/transfers', {
    body: 'x', as: 'alice', headers: { 'Content-Type': 'text/plain', 'Idempotency-Key': key('t') },
  });
  assert.equal(text.status, 415);
  const anon = await call('POST', '/api/transfers', '/api/transfers', {
    body, headers: { Authorization: 'Bearer lk_nope', 'Idempotency-Key': key('t') },
  });
  assert.equal(anon.status, 401);
  await notAllowed('DELETE', '/api/transfers', 'GET, HEAD, POST');
});

test('GET /api/transfers/{id}: settled, declined, rejected_fraud, not found', async () => {
  const ok = await post('/api/transfers', '/api/transfers', { from: 'alice', to: 'bob', amount: 300 }, { as: 'alice' });
  const poor = await post('/api/transfers', '/api/transfers', { from: 'dave', to: 'bob', amount: 999999 }, { as: 'dave' });
  const big = await post('/api/transfers', '/api/transfers', { from: 'carol', to: 'bob', amount: 150000 }, { as: 'carol' });
  assert.equal((await waitStatus(ok.data.id, ['settled'])).status, 'settled');
  assert.equal((await waitStatus(poor.data.id, ['declined'])).reason.code, 'insufficient_funds');
  assert.equal((await waitStatus(big.data.id, ['rejected_fraud'])).status, 'rejected_fraud');
  // A customer without risk:read sees the redacted reason; still the schema.
  await call('GET', `/api/transfers/${big.data.id}`, '/api/transfers/{id}', { as: 'carol' });
  const other = await call('GET', `/api/transfers/${big.data.id}`, '/api/transfers/{id}', { as: 'alice' });
  assert.equal(other.status, 404);
  const none = await call('GET', '/api/transfers/tr_00000000000000000000', '/api/transfers/{id}');
  assert.equal(none.status, 404);
});

test('GET /api/transfers: pages and a bad limit', async () => {
  const page = await call('GET', '/api/transfers?limit=3', '/api/transfers');
  assert.equal(page.status, 200);
  if (page.data.next_cursor) {
    const next = await call('GET', `/api/transfers?limit=3&cursor=${page.data.next_cursor}`, '/api/transfers');
    assert.equal(next.status, 200);
  }
  await call('GET', '/api/transfers', '/api/transfers', { as: 'bob' });
  const bad = await call('GET', '/api/transfers?limit=0', '/api/transfers');
  assert.equal(bad.data.error.field, 'limit');
  const cursor = await call('GET', '/api/transfers?cursor=nope', '/api/transfers');
  assert.equal(cursor.data.error.field, 'cursor');
});

test('a key without the scope: 403 forbidden', async () => {
  await principal('oa-noscope', 'customer', []);
  const r = await call('GET', '/api/transfers', '/api/transfers', { as: 'oa-noscope' });
  assert.equal(r.status, 403);
  const a = await call('GET', '/api/accounts', '/api/accounts', { as: 'oa-noscope' });
  assert.equal(a.status, 403);
});

test('POST /api/transfers/batch: accepted, replayed and refused items; a bad envelope', async () => {
  const k = key('b');
  const items = [
    { idempotency_key: k, from: 'bob', to: 'alice', amount: 5 },
    { idempotency_key: k, from: 'bob', to: 'alice', amount: 5 },
    { idempotency_key: key('b'), from: 'bob', to: 'bob', amount: 5 },
    { idempotency_key: key('b'), from: 'carol', to: 'bob', amount: 5 },
  ];
  const r = await call('POST', '/api/transfers/batch', '/api/transfers/batch', { body: { transfers: items }, as: 'bob' });
  assert.deepEqual(r.data.results.map((x) => x.status), [202, 200, 422, 403]);
  const empty = await call('POST', '/api/transfers/batch', '/api/transfers/batch', { body: { transfers: [] } });
  assert.equal(empty.status, 400);
  const extra = await call('POST', '/api/transfers/batch', '/api/transfers/batch', { body: { transfers: items, x: 1 } });
  assert.equal(extra.data.error.code, 'unknown_field');
});

test('POST /api/deposits and /api/withdrawals', async () => {
  const d = await post('/api/deposits', '/api/deposits', { account: 'dave', amount: 700, reference: 'top up' });
  assert.equal(d.data.kind, 'deposit');
  const s = await post('/api/deposits', '/api/deposits', { account: 'funding', amount: 700 });
  assert.equal(s.data.error.code, 'settlement_account');
  const big = await post('/api/deposits', '/api/deposits', { account: 'dave', amount: 10000000001 });
  assert.equal(big.data.error.code, 'amount_too_large');
  const notop = await post('/api/deposits', '/api/deposits', { account: 'dave', amount: 1 }, { as: 'dave' });
  assert.equal(notop.status, 403);
  const w = await post('/api/withdrawals', '/api/withdrawals', { account: 'alice', amount: 200 }, { as: 'alice' });
  assert.equal(w.data.kind, 'withdrawal');
  const theirs = await post('/api/withdrawals', '/api/withdrawals', { account: 'bob', amount: 200 }, { as: 'alice' });
  assert.equal(theirs.data.error.code, 'forbidden_account');
  const missing = await post('/api/withdrawals', '/api/withdrawals', { amount: 200 }, { as: 'alice' });
  assert.equal(missing.data.error.code, 'missing_field');
  await waitStatus(d.data.id, ['settled']);
  await waitStatus(w.data.id, ['settled']);
});

test('GET /api/accounts, /api/accounts/{id}, its ledger', async () => {
  const all = await call('GET', '/api/accounts?limit=2', '/api/accounts');
  await call('GET', `/api/accounts?cursor=${all.data.next_cursor}`, '/api/accounts');
  await call('GET', '/api/accounts', '/api/accounts', { as: 'alice' });
  await call('GET', '/api/accounts?limit=500', '/api/accounts');
  const one = await call('GET', '/api/accounts/alice', '/api/accounts/{id}', { as: 'alice' });
  assert.equal(one.data.id, 'alice');
  await call('GET', '/api/accounts/funding', '/api/accounts/{id}');
  assert.equal((await call('GET', '/api/accounts/bob', '/api/accounts/{id}', { as: 'alice' })).status, 404);
  assert.equal((await call('GET', '/api/accounts/nobody', '/api/accounts/{id}')).status, 404);
  const ledger = await call('GET', '/api/accounts/alice/ledger?limit=3', '/api/accounts/{id}/ledger');
  assert.ok(ledger.data.entries.length > 0);
  await call('GET', `/api/accounts/alice/ledger?cursor=${ledger.data.next_cursor}`, '/api/accounts/{id}/ledger');
  const bad = await call('GET', '/api/accounts/alice/ledger?cursor=x', '/api/accounts/{id}/ledger');
  assert.equal(bad.data.error.field, 'cursor');
});

test('POST /api/accounts: opened, the same again, and each refusal', async () => {
  await principal('oa-erin', 'customer', ['accounts:read']);
  const body = { id: 'oa-erin', name: 'Erin Green', currency: 'GBP', owner: 'oa-erin' };
  assert.equal((await call('POST', '/api/accounts', '/api/accounts', { body })).status, 201);
  assert.equal((await call('POST', '/api/accounts', '/api/accounts', { body })).status, 200);
  const taken = await call('POST', '/api/accounts', '/api/accounts', { body: { ...body, name: 'Other' } });
  assert.equal(taken.data.error.code, 'account_exists');
  const money = await call('POST', '/api/accounts', '/api/accounts', { body: { ...body, opening_balance: 5 } });
  assert.equal(money.data.error.code, 'opening_balance_removed');
  const owner = await call('POST', '/api/accounts', '/api/accounts', { body: { ...body, id: 'oa-x', owner: 'oa-nobody' } });
  assert.equal(owner.data.error.code, 'invalid_owner');
  const customer = await call('POST', '/api/accounts', '/api/accounts', { body, as: 'alice' });
  assert.equal(customer.status, 403);
});

test('POST /api/stream-tokens and GET /api/events (transfer events match StreamEvent)', async () => {
  const tok = await call('POST', '/api/stream-tokens', '/api/stream-tokens', { as: 'alice' });
  assert.equal(tok.status, 201);
  const ctrl = new AbortController();
  const res = await fetch(`${mesh.baseUrl}/api/events?token=${tok.data.token}&last_event_id=0`, { signal: ctrl.signal });
  try {
    const op = spec.paths['/api/events'].get;
    assert.equal(res.status, 200);
    const type = res.headers.get('content-type').split(';')[0];
    const media = op.responses['200'].content[type];
    assert.ok(media, `GET /api/events answered ${type}`);
    const kinds = media.schema['x-sse-events'];
    const reader = res.body.getReader();
    let text = '';
    const blocks = [];
    const deadline = Date.now() + 10000;
    while (blocks.length < 3 && Date.now() < deadline) {
      const { value, done } = await reader.read();
      if (done) break;
      text += Buffer.from(value).toString('utf8');
      let cut;
      while ((cut = text.indexOf('\n\n')) >= 0) {
        const block = text.slice(0, cut);
        text = text.slice(cut + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event && data) blocks.push([event, JSON.parse(data)]);
      }
    }
    assert.ok(blocks.length >= 3, `only ${blocks.length} events came`);
    for (const [event, data] of blocks) {
      assert.ok(kinds[event], `event: ${event} is not in x-sse-events`);
      assertValid(validatorOf(kinds[event]), data, `GET /api/events event: ${event}`);
    }
  } finally {
    ctrl.abort();
  }
  const bad = await call('GET', '/api/events?last_event_id=x', '/api/events');
  assert.equal(bad.status, 400);
});

// --- issue 21's routes (skipped, with the reason, until the gateway has them) ----

test('GET /api/currencies', async (t) => {
  const r = await call('GET', '/api/currencies', '/api/currencies', { as: 'alice', probe: true });
  if (unbuilt(r)) return t.skip('GET /api/currencies answers 404 "no such resource": not built yet');
  const codes = r.data.currencies.map((c) => c.code);
  for (const c of ['GBP', 'EUR', 'USD', 'JPY', 'KWD']) assert.ok(codes.includes(c), c);
  const unknown = await post('/api/transfers', '/api/transfers', { from: 'alice', to: 'bob', amount: 5, currency: 'XYZ' }, { as: 'alice' });
  assert.deepEqual([unknown.status, unknown.data.error.code], [422, 'unknown_currency']);
  const text = await post('/api/transfers', '/api/transfers', { from: 'alice', to: 'bob', amount: '1.25' }, { as: 'alice' });
  assert.deepEqual([text.status, text.data.amount, text.data.amount_text], [202, 125, '1.25']);
});

test('GET /api/transfers filters', async (t) => {
  const probe = await call('GET', '/api/transfers?status=bogus', '/api/transfers');
  if (probe.status === 200) return t.skip('GET /api/transfers?status=bogus answers 200: the filters are not built yet');
  assert.equal(probe.data.error.field, 'status');
  const settled = await call('GET', '/api/transfers?status=settled&kind=deposit&account=alice', '/api/transfers');
  for (const x of settled.data.transfers) {
    assert.deepEqual([x.status, x.kind], ['settled', 'deposit']);
    assert.ok(x.from === 'alice' || x.to === 'alice');
  }
  const now = new Date().toISOString();
  const later = await call('GET', `/api/transfers?created_from=${now}`, '/api/transfers');
  assert.equal(later.data.transfers.length, 0);
  const window = await call('GET', `/api/transfers?created_from=2000-01-01T00:00:00Z&created_to=${now}&limit=2`, '/api/transfers');
  assert.ok(window.data.transfers.length > 0);
  for (const field of ['account', 'kind', 'created_from', 'created_to']) {
    const bad = await call('GET', `/api/transfers?${field}=%20bad%20`, '/api/transfers');
    assert.deepEqual([bad.status, bad.data.error.field], [400, field]);
  }
});

/** A manual-capture transfer from `from`, authorized; null if manual capture is not built. */
async function authorized(from, to, amount) {
  const r = await post('/api/transfers', '/api/transfers', { from, to, amount, capture: 'manual', expires_in_s: 3600 }, { as: from });
  if (r.status === 400 && r.data.error.field === 'capture') return null;
  assert.equal(r.status, 202);
  assert.equal(r.data.capture, 'manual');
  return waitStatus(r.data.id, ['authorized']);
}

test('POST /api/transfers/{id}/capture', async (t) => {
  const route = '/api/transfers/{id}/capture';
  const probe = await post('/api/transfers/tr_00000000000000000000/capture', route, {}, { as: 'carol', probe: true });
  if (unbuilt(probe)) return t.skip(`POST ${route} answers 404 "no such resource": not built yet`);
  const auth = await authorized('carol', 'bob', 2000);
  if (!auth) return t.skip('POST /api/transfers refuses "capture": manual capture is not built yet');
  assert.ok(auth.expires_at);
  const url = `/api/transfers/${auth.id}/capture`;
  assert.equal((await post(url, route, {}, { as: 'bob' })).status, 404); // bob does not own from
  const over = await post(url, route, { amount: 2001 }, { as: 'carol' });
  assert.equal(over.data.error.code, 'exceeds_authorized');
  const bad = await post(url, route, { amount: 5, extra: 1 }, { as: 'carol' });
  assert.equal(bad.status, 400);
  const ok = await post(url, route, { amount: 1500 }, { as: 'carol' });
  assert.equal(ok.status, 202);
  const settled = await waitStatus(auth.id, ['settled']);
  assert.equal(settled.captured_amount, 1500);
  const twice = await post(url, route, {}, { as: 'carol' });
  assert.equal(twice.data.error.code, 'invalid_state');
  const holds = await call('GET', '/api/accounts/carol?expand=holds', '/api/accounts/{id}');
  assert.ok(!holds.data.holds || !holds.data.holds.some((h) => h.transfer === auth.id));
});

test('POST /api/transfers/{id}/void, and expand=holds while authorised', async (t) => {
  const route = '/api/transfers/{id}/void';
  const probe = await post('/api/transfers/tr_00000000000000000000/void', route, {}, { as: 'bob', probe: true });
  if (unbuilt(probe)) return t.skip(`POST ${route} answers 404 "no such resource": not built yet`);
  const auth = await authorized('bob', 'carol', 900);
  if (!auth) return t.skip('POST /api/transfers refuses "capture": manual capture is not built yet');
  const holds = await call('GET', '/api/accounts/bob?expand=holds', '/api/accounts/{id}', { as: 'bob' });
  if (!holds.data.holds) t.diagnostic('GET /api/accounts/{id}?expand=holds has no holds: not built yet');
  else assert.ok(holds.data.holds.some((h) => h.transfer === auth.id && h.capture === 'manual'));
  const url = `/api/transfers/${auth.id}/void`;
  const nokey = await call('POST', url, route, { body: {}, as: 'bob' });
  assert.equal(nokey.data.error.code, 'missing_idempotency_key');
  const ok = await post(url, route, {}, { as: 'bob' });
  assert.equal(ok.status, 202);
  assert.equal((await waitStatus(auth.id, ['voided'])).status, 'voided');
  const again = await post(url, route, {}, { as: 'bob' });
  assert.equal(again.data.error.code, 'invalid_state');
});

test('POST /api/transfers/{id}/refunds', async (t) => {
  const route = '/api/transfers/{id}/refunds';
  const probe = await post('/api/transfers/tr_00000000000000000000/refunds', route, {}, { as: 'bob', probe: true });
  if (unbuilt(probe)) return t.skip(`POST ${route} answers 404 "no such resource": not built yet`);
  const paid = await post('/api/transfers', '/api/transfers', { from: 'alice', to: 'bob', amount: 1000 }, { as: 'alice' });
  await waitStatus(paid.data.id, ['settled']);
  const url = `/api/transfers/${paid.data.id}/refunds`;
  assert.equal((await post(url, route, {}, { as: 'alice' })).status, 404); // alice does not own to
  const too = await post(url, route, { amount: 1001 }, { as: 'bob' });
  assert.equal(too.data.error.code, 'exceeds_refundable');
  const part = await post(url, route, { amount: 400, reference: 'damaged' }, { as: 'bob' });
  assert.equal(part.status, 202);
  assert.deepEqual([part.data.kind, part.data.refund_of, part.data.from, part.data.to], ['refund', paid.data.id, 'bob', 'alice']);
  await waitStatus(part.data.id, ['settled']);
  const original = await waitUntil(async () => {
    const o = await call('GET', `/api/transfers/${paid.data.id}`, '/api/transfers/{id}');
    return o.data.refunded_amount === 400 ? o.data : null;
  }, { what: 'refunded_amount 400' });
  assert.ok(original.refunds.includes(part.data.id));
  const rest = await post(url, route, { amount: 601 }, { as: 'bob' });
  assert.equal(rest.data.error.code, 'exceeds_refundable');
  const poor = await post('/api/transfers', '/api/transfers', { from: 'dave', to: 'bob', amount: 99999999 }, { as: 'dave' });
  await waitStatus(poor.data.id, ['declined']);
  const state = await post(`/api/transfers/${poor.data.id}/refunds`, route, {}, { as: 'bob' });
  assert.equal(state.data.error.code, 'invalid_state');
});

test('PATCH /api/accounts/{id}', async (t) => {
  const route = '/api/accounts/{id}';
  const manager = await principal('oa-manager', 'operator', ['accounts:read', 'accounts:open', 'accounts:manage']);
  const probe = await call('PATCH', '/api/accounts/alice', route, { body: {}, as: manager ? 'oa-manager' : 'operator', probe: true });
  if (unbuilt(probe)) return t.skip('PATCH /api/accounts/{id} answers 404 "no such resource": not built yet');
  assert.ok(manager, 'the admin port refuses the scope accounts:manage');
  const as = 'oa-manager';
  await principal('oa-frank', 'customer', ['accounts:read']);
  await call('POST', '/api/accounts', '/api/accounts', { body: { id: 'oa-frank', name: 'Frank', owner: 'oa-frank' } });
  const frozen = await call('PATCH', '/api/accounts/oa-frank', route, { body: { status: 'frozen', overdraft_limit: 5000 }, as });
  assert.deepEqual([frozen.status, frozen.data.status, frozen.data.overdraft_limit], [200, 'frozen', 5000]);
  const bad = await call('PATCH', '/api/accounts/oa-frank', route, { body: { status: 'asleep' }, as });
  assert.equal(bad.status, 400);
  const customer = await call('PATCH', '/api/accounts/alice', route, { body: { status: 'frozen' }, as: 'alice' });
  assert.equal(customer.status, 403);
  assert.equal((await call('PATCH', '/api/accounts/oa-nobody', route, { body: { status: 'frozen' }, as })).status, 404);
  const full = await call('PATCH', '/api/accounts/dave', route, { body: { status: 'closed' }, as });
  assert.equal(full.data.error.code, 'account_not_empty');
  const closed = await call('PATCH', '/api/accounts/oa-frank', route, { body: { status: 'closed' }, as });
  assert.equal(closed.data.status, 'closed');
  const after = await call('PATCH', '/api/accounts/oa-frank', route, { body: { status: 'active' }, as });
  assert.equal(after.data.error.code, 'account_closed');
});

test('GET /api/accounts/{id}/balance?at=', async (t) => {
  const route = '/api/accounts/{id}/balance';
  const now = new Date().toISOString();
  const r = await call('GET', `/api/accounts/alice/balance?at=${now}`, route, { as: 'alice', probe: true });
  if (unbuilt(r)) return t.skip(`GET ${route} answers 404 "no such resource": not built yet`);
  assert.equal(r.data.account, 'alice');
  const before = await call('GET', '/api/accounts/alice/balance?at=2000-01-01T00:00:00Z', route);
  assert.deepEqual([before.data.balance, before.data.held], [0, 0]);
  const bad = await call('GET', '/api/accounts/alice/balance?at=yesterday', route);
  assert.deepEqual([bad.status, bad.data.error.field], [400, 'at']);
  assert.equal((await call('GET', `/api/accounts/bob/balance?at=${now}`, route, { as: 'alice' })).status, 404);
});

test('GET /api/accounts/{id}/statement (json and csv)', async (t) => {
  const route = '/api/accounts/{id}/statement';
  // A `to` in the past: an entry made between the two reads below cannot fall in it.
  const to = new Date().toISOString();
  const q = `from=2000-01-01T00:00:00Z&to=${to}`;
  const r = await call('GET', `/api/accounts/alice/statement?${q}`, route, { as: 'alice', probe: true });
  if (unbuilt(r)) return t.skip(`GET ${route} answers 404 "no such resource": not built yet`);
  assert.equal(r.data.opening_balance, 0);
  const last = r.data.entries.at(-1);
  assert.equal(r.data.closing_balance, last ? last.balance_after : 0);
  const csv = await call('GET', `/api/accounts/alice/statement?${q}&format=csv`, route, { as: 'alice' });
  assert.match(csv.headers.get('content-disposition'), /^attachment; filename="statement-alice-/);
  assert.equal(csv.data.trim().split(/\r?\n/).length, r.data.entries.length + 1);
  const bad = await call('GET', `/api/accounts/alice/statement?${q}&format=pdf`, route);
  assert.deepEqual([bad.status, bad.data.error.field], [400, 'format']);
});
