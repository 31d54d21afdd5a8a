// The demo's payments (issue 21) end to end in the browser, against the three
// real nodes: an authorisation captured in part and one voided, a refund by
// the payee, a frozen account's payment declined account_frozen, the EUR
// pair (amounts by the currency's exponent, payees of the same currency
// only), an account's holds and a statement download. Like scripts/demo.sh,
// the mesh funds alice-eur with 500.00 EUR and freezes dave (PATCH as the
// operator, who has accounts:manage here). Run as demo.test.js.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Mesh, waitUntil, repoRoot } from './mesh.js';
import { launchBrowser, screenshot } from './browser.js';

let mesh;
let browser;
const pageErrors = [];
const EUR_FUNDING = 50000;

const money = (minor, sym = '£') => {
  const neg = minor < 0;
  const a = Math.abs(minor);
  const whole = String(Math.trunc(a / 100)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${neg ? '-' : ''}${sym}${whole}.${String(a % 100).padStart(2, '0')}`;
};
const exact = (s) => new RegExp(`^\\s*${s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*$`);

before(async () => {
  const index = path.join(repoRoot, 'web', 'dist', 'index.html');
  assert.ok(fs.existsSync(index), 'web/dist is missing: run `npm run build` in web/ first');
  mesh = new Mesh({ operatorScopes: ['accounts:manage'] });
  await mesh.startAll();
  // the demo data of scripts/demo.sh: 500.00 EUR into alice-eur, dave frozen
  const dep = await mesh.request('POST', '/api/deposits', {
    body: { account: 'alice-eur', amount: EUR_FUNDING, currency: 'EUR', reference: 'demo deposit' },
    headers: { 'Idempotency-Key': 'demo-alice-eur' },
  });
  assert.equal(dep.status, 202, JSON.stringify(dep.data));
  assert.equal((await mesh.waitFinal(dep.data.id)).status, 'settled');
  mesh.fundingIds.add(dep.data.id);
  const frozen = await mesh.request('PATCH', '/api/accounts/dave', { body: { status: 'frozen' } });
  assert.equal(frozen.status, 200, JSON.stringify(frozen.data));
  assert.equal(frozen.data.status, 'frozen');
  browser = await launchBrowser();
});

after(async () => {
  if (browser) await browser.close();
  if (mesh) await mesh.close();
});

async function openPage({ as = 'operator' } = {}) {
  const page = await browser.context.newPage();
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  await page.goto(`${mesh.baseUrl}/${mesh.signinFragment()}`);
  await page.locator('[data-testid=account-alice]').waitFor();
  if (as !== 'operator') {
    await page.locator('[data-testid=principal]').selectOption(as);
    await page.locator(`[data-testid=account-${as}]`).waitFor();
    await page.locator(`[data-testid=from] option[value="${as}"]`).waitFor({ state: 'attached' });
  }
  await page.locator('[data-testid=stream-status][data-state=live]').waitFor();
  return page;
}

function field(page, account, what) {
  return page.locator(`[data-testid=account-${account}] [data-testid=${what}]`);
}

async function expectText(locator, text, timeout = 15000) {
  await locator.filter({ hasText: exact(text) }).first().waitFor({ timeout });
}

async function fillForm(page, { from, to, amount, reference = '', manual = false, expiresIn }) {
  await page.locator('[data-testid=from]').selectOption(from);
  await page.locator(`[data-testid=to] option[value="${to}"]`).waitFor({ state: 'attached' });
  await page.locator('[data-testid=to]').selectOption(to);
  await page.locator('[data-testid=amount]').fill(amount);
  await page.locator('[data-testid=reference]').fill(reference);
  await page.locator('[data-testid=manual-capture]').setChecked(manual);
  if (manual && expiresIn) await page.locator('[data-testid=expires-in]').selectOption(String(expiresIn));
}

async function selectedServerId(page) {
  const el = page.locator('[data-testid=detail-id]').filter({ hasText: /^\s*tr_/ });
  await el.waitFor();
  return (await el.textContent()).trim();
}

function row(page, id, status) {
  return page.locator(`[data-testid=transfer-row][data-id="${id}"]${status ? `[data-status=${status}]` : ''}`);
}

test('an authorisation shows its countdown and hold, and is captured in part: settled with the captured amount, the rest released', async () => {
  const before = await mesh.accounts();
  const page = await openPage({ as: 'alice' });
  await fillForm(page, { from: 'alice', to: 'bob', amount: '10.00', reference: 'authorise me', manual: true, expiresIn: 300 });
  const posted = page.waitForRequest((r) => r.method() === 'POST' && r.url().endsWith('/api/transfers'));
  await page.locator('[data-testid=send]').click();
  const body = JSON.parse((await posted).postData());
  assert.deepEqual({ capture: body.capture, expires_in_s: body.expires_in_s, amount: body.amount, currency: body.currency },
    { capture: 'manual', expires_in_s: 300, amount: 1000, currency: 'GBP' });
  const id = await selectedServerId(page);
  await row(page, id, 'authorized').waitFor();
  // the countdown runs: below 5 minutes, and it moves
  const countdown = page.locator('[data-testid=expires-countdown]');
  await countdown.filter({ hasText: /expires in [1-5]m \d\ds|expires in 5m 00s/ }).waitFor();
  const first = (await countdown.textContent()).trim();
  await waitUntil(async () => (await countdown.textContent()).trim() !== first, { what: 'the countdown to tick', timeout: 5000 });
  // the hold: on the account and in its holds
  await expectText(field(page, 'alice', 'held'), money(1000));
  await page.locator('[data-testid=account-alice] [data-testid=account-toggle]').click();
  await page.locator(`[data-testid=account-alice] [data-testid=hold][data-transfer="${id}"]`).waitFor();
  await expectText(page.locator(`[data-testid=hold][data-transfer="${id}"] [data-testid=hold-amount]`), money(1000));
  await screenshot(page, '20-authorized');
  const authorized = await mesh.transferView(id);
  assert.equal(authorized.status, 'authorized');
  assert.equal(authorized.capture, 'manual');
  assert.ok(Date.parse(authorized.expires_at) > Date.now(), authorized.expires_at);
  assert.equal((await mesh.accounts()).alice.held, before.alice.held + 1000);

  const captured = page.waitForRequest((r) => r.method() === 'POST' && r.url().endsWith(`/api/transfers/${id}/capture`));
  await page.locator('[data-testid=capture-amount]').fill('6.00');
  await page.locator('[data-testid=capture]').click();
  const req = await captured;
  assert.ok(req.headers()['idempotency-key'], 'the capture carries an Idempotency-Key');
  assert.deepEqual(JSON.parse(req.postData()), { amount: 600 });
  await row(page, id, 'settled').waitFor();
  await page.locator('[data-testid=captured-amount]').filter({ hasText: `${money(600)} of ${money(1000)}` }).waitFor();
  await page.locator(`[data-testid=account-alice] [data-testid=hold][data-transfer="${id}"]`).waitFor({ state: 'detached' });
  await expectText(field(page, 'alice', 'balance'), money(before.alice.balance - 600));
  await expectText(field(page, 'alice', 'held'), money(before.alice.held));
  const view = await mesh.transferView(id);
  assert.equal(view.status, 'settled');
  assert.equal(view.captured_amount, 600);
  const after = await mesh.accounts();
  assert.equal(after.alice.balance, before.alice.balance - 600);
  assert.equal(after.alice.held, before.alice.held);
  assert.equal(after.bob.balance, before.bob.balance + 600);
  // nothing more to capture: the buttons are gone, and the API agrees (409 invalid_state)
  assert.equal(await page.locator('[data-testid=capture]').count(), 0);
  const again = await mesh.request('POST', `/api/transfers/${id}/capture`, { as: 'alice', body: {}, headers: { 'Idempotency-Key': `again-${id}` } });
  assert.equal(again.status, 409, JSON.stringify(again.data));
  assert.equal(again.data.error.code, 'invalid_state');
  await screenshot(page, '21-captured');
  await page.close();
});

test('an authorisation voided from the page releases the hold and moves nothing', async () => {
  const before = await mesh.accounts();
  const page = await openPage({ as: 'alice' });
  await fillForm(page, { from: 'alice', to: 'carol', amount: '4.00', reference: 'void me', manual: true });
  await page.locator('[data-testid=send]').click();
  const id = await selectedServerId(page);
  await row(page, id, 'authorized').waitFor();
  await page.locator('[data-testid=expires-countdown]').filter({ hasText: /expires in [67]d/ }).waitFor(); // the default: 7 days
  await expectText(field(page, 'alice', 'held'), money(before.alice.held + 400));
  await page.locator('[data-testid=void]').click();
  await row(page, id, 'voided').waitFor();
  await page.locator('[data-testid=detail-reason][data-code=voided]').waitFor();
  await expectText(field(page, 'alice', 'held'), money(before.alice.held));
  await expectText(field(page, 'alice', 'balance'), money(before.alice.balance));
  const view = await mesh.transferView(id);
  assert.equal(view.status, 'voided');
  const after = await mesh.accounts();
  for (const acct of ['alice', 'carol']) {
    assert.equal(after[acct].balance, before[acct].balance);
    assert.equal(after[acct].held, before[acct].held);
  }
  await screenshot(page, '22-voided');
  await page.close();
});

test('the payee refunds part of a settled transfer: a refund transfer back, and the original shows refunded_amount', async () => {
  const sent = await mesh.transfer('alice', 'bob', 500, { reference: 'refund me' });
  assert.equal(sent.status, 202, JSON.stringify(sent.data));
  assert.equal((await mesh.waitFinal(sent.data.id)).status, 'settled');
  const before = await mesh.accounts();
  const page = await openPage({ as: 'bob' });
  await row(page, sent.data.id, 'settled').click();
  await page.locator('[data-testid=refund-amount]').fill('2.00');
  const posted = page.waitForRequest((r) => r.method() === 'POST' && r.url().endsWith(`/api/transfers/${sent.data.id}/refunds`));
  await page.locator('[data-testid=refund]').click();
  assert.deepEqual(JSON.parse((await posted).postData()), { amount: 200 });
  const refund = await waitUntil(async () => (await mesh.allTransfers())
    .find((t) => t.kind === 'refund' && t.refund_of === sent.data.id), { what: 'the refund transfer' });
  assert.equal(refund.from, 'bob');
  assert.equal(refund.to, 'alice');
  assert.equal(refund.amount, 200);
  await row(page, refund.id, 'settled').waitFor();
  await row(page, refund.id).locator('[data-testid=kind]').filter({ hasText: 'refund' }).waitFor();
  const original = await waitUntil(async () => {
    const t = await mesh.transferView(sent.data.id);
    return t.refunded_amount === 200 ? t : null;
  }, { what: 'the original to count its refund' });
  assert.ok(original.refunds.includes(refund.id), JSON.stringify(original.refunds));
  await row(page, sent.data.id).click();
  await expectText(page.locator('[data-testid=refunded-amount]'), money(200));
  await page.locator(`[data-testid=refund-link][data-id="${refund.id}"]`).waitFor();
  await row(page, sent.data.id).locator('[data-testid=row-refunded]').filter({ hasText: money(200) }).waitFor();
  const after = await mesh.accounts();
  assert.equal(after.bob.balance, before.bob.balance - 200);
  assert.equal(after.alice.balance, before.alice.balance + 200);
  // the payer is not offered a refund (only the owner of to, or an operator)
  const alicePage = await openPage({ as: 'alice' });
  await row(alicePage, sent.data.id).click();
  await alicePage.locator('[data-testid=payment-facts]').waitFor();
  assert.equal(await alicePage.locator('[data-testid=refund]').count(), 0);
  await alicePage.close();
  // more than is left: 422 exceeds_refundable, shown as such, and nothing moves
  await page.locator('[data-testid=refund-amount]').fill('3.01');
  await page.locator('[data-testid=refund]').click();
  await page.locator('[data-testid=action-error]').filter({ hasText: /at most £3\.00/ }).waitFor();
  const over = await mesh.request('POST', `/api/transfers/${sent.data.id}/refunds`, {
    as: 'bob', body: { amount: 301 }, headers: { 'Idempotency-Key': `over-${sent.data.id}` } });
  assert.equal(over.status, 422, JSON.stringify(over.data));
  assert.equal(over.data.error.code, 'exceeds_refundable');
  await screenshot(page, '23-refunded');
  await page.close();
});

test('a frozen account shows its badge and its payment is declined account_frozen; nothing moves', async () => {
  const before = await mesh.accounts();
  assert.equal(before.dave.status, 'frozen');
  const page = await openPage({ as: 'dave' });
  await page.locator('[data-testid=account-dave] [data-testid=account-status][data-status=frozen]').waitFor();
  await fillForm(page, { from: 'dave', to: 'carol', amount: '1.00', reference: 'from a frozen account' });
  await page.locator('[data-testid=from-status]').filter({ hasText: /frozen/ }).waitFor(); // a hint; the send still goes
  await page.locator('[data-testid=send]').click();
  const id = await selectedServerId(page);
  await row(page, id, 'declined').waitFor();
  await row(page, id).locator('[data-testid=reason][data-code=account_frozen]').waitFor();
  await page.locator('[data-testid=detail-reason][data-code=account_frozen]').filter({ hasText: /frozen/ }).waitFor();
  const view = await mesh.transferView(id);
  assert.equal(view.status, 'declined');
  assert.equal(view.reason.code, 'account_frozen');
  const after = await mesh.accounts();
  for (const acct of ['dave', 'carol']) {
    assert.equal(after[acct].balance, before[acct].balance);
    assert.equal(after[acct].held, before[acct].held);
  }
  await screenshot(page, '24-frozen-declined');
  await page.close();
  // money can still come in: credits to a frozen account are accepted
  const credit = await mesh.transfer('carol', 'dave', 100, { reference: 'to a frozen account' });
  assert.equal((await mesh.waitFinal(credit.data.id)).status, 'settled');
});

test('the EUR pair: the form offers only EUR payees and amounts show in euros', async () => {
  const before = await mesh.accounts();
  assert.equal(before['alice-eur'].currency, 'EUR');
  assert.equal(before['alice-eur'].balance, EUR_FUNDING);
  const page = await openPage({ as: 'alice' });
  await expectText(field(page, 'alice-eur', 'balance'), money(EUR_FUNDING, '€'));
  await page.locator('[data-testid=from]').selectOption('alice-eur');
  await page.locator('[data-testid=amount-currency]').filter({ hasText: 'EUR' }).waitFor();
  await page.locator('[data-testid=to] option[value="bob-eur"]').waitFor({ state: 'attached' });
  const offered = await page.locator('[data-testid=to] option').evaluateAll((els) => els.map((e) => e.value));
  for (const id of offered) assert.equal(before[id].currency, 'EUR', `${id} offered as a EUR payee`);
  await fillForm(page, { from: 'alice-eur', to: 'bob-eur', amount: '12.34', reference: 'in euros' });
  await page.locator('[data-testid=send]').click();
  const id = await selectedServerId(page);
  await row(page, id, 'settled').waitFor();
  await row(page, id).filter({ hasText: money(1234, '€') }).waitFor();
  await expectText(field(page, 'alice-eur', 'balance'), money(EUR_FUNDING - 1234, '€'));
  const view = await mesh.transferView(id);
  assert.equal(view.currency, 'EUR');
  assert.equal(view.amount, 1234);
  const after = await mesh.accounts();
  assert.equal(after['bob-eur'].balance, before['bob-eur'].balance + 1234);
  // three decimals are refused before anything is sent
  await fillForm(page, { from: 'alice-eur', to: 'bob-eur', amount: '1.234' });
  await page.locator('[data-testid=send]').click();
  await page.locator('[data-testid=amount-error]').filter({ hasText: /two decimal places for EUR/ }).waitFor();
  await screenshot(page, '25-eur');
  await page.close();
});

test('the operator sets an overdraft from the page: shown on the account, and it lets bob pay beyond his balance', async () => {
  const before = await mesh.accounts();
  assert.equal(before.bob.overdraft_limit, 0);
  const page = await openPage();
  await page.locator('[data-testid=account-bob] [data-testid=account-toggle]').click();
  await page.locator('[data-testid=account-bob] [data-testid=overdraft-input]').fill('5.00');
  const patched = page.waitForRequest((r) => r.method() === 'PATCH' && r.url().endsWith('/api/accounts/bob'));
  await page.locator('[data-testid=account-bob] [data-testid=set-overdraft]').click();
  assert.deepEqual(JSON.parse((await patched).postData()), { overdraft_limit: 500 });
  await expectText(field(page, 'bob', 'overdraft'), money(500));
  assert.equal((await mesh.accounts()).bob.overdraft_limit, 500);
  await page.close();
  // bob's available plus the overdraft is what he may pay; one penny more is declined
  const { available: avail, balance } = (await mesh.accounts()).bob;
  const over = await mesh.transfer('bob', 'carol', avail + 501, { reference: 'beyond the overdraft' });
  const declined = await mesh.waitFinal(over.data.id);
  assert.equal(declined.status, 'declined');
  assert.equal(declined.reason.code, 'insufficient_funds');
  const within = await mesh.transfer('bob', 'carol', avail + 500, { reference: 'into the overdraft' });
  assert.equal((await mesh.waitFinal(within.data.id)).status, 'settled');
  assert.equal((await mesh.accounts()).bob.balance, balance - avail - 500);
});

test('a statement downloads as CSV with the key, from the account\'s from/to inputs', async () => {
  const page = await openPage({ as: 'alice' });
  await page.locator('[data-testid=account-alice] [data-testid=account-toggle]').click();
  // the default interval: the last 30 days, up to now (the "to" field left empty)
  assert.match(await page.locator('[data-testid=account-alice] [data-testid=statement-from]').inputValue(), /^\d{4}-\d\d-\d\dT\d\d:\d\d$/);
  const statement = page.waitForRequest((r) => r.url().includes('/api/accounts/alice/statement'));
  const download = page.waitForEvent('download');
  await page.locator('[data-testid=account-alice] [data-testid=statement-download]').click();
  const req = await statement;
  assert.equal(req.headers().authorization, `Bearer ${mesh.keys.alice}`);
  const url = new URL(req.url());
  assert.equal(url.searchParams.get('format'), 'csv');
  assert.ok(Date.parse(url.searchParams.get('from')) < Date.parse(url.searchParams.get('to')));
  const file = await download;
  assert.match(file.suggestedFilename(), /^statement-alice.*\.csv$/);
  const csv = fs.readFileSync(await file.path(), 'utf8');
  const lines = csv.trim().split(/\r?\n/);
  assert.ok(lines.length >= 2, csv);
  assert.match(lines[0], /seq/);
  const ledger = await mesh.request('GET', '/api/accounts/alice/ledger?limit=200', { as: 'alice' });
  for (const e of ledger.data.entries.filter((x) => x.transfer)) assert.ok(csv.includes(e.transfer), `${e.transfer} in the statement`);
  await page.locator('[data-testid=account-alice] [data-testid=statement-saved]').waitFor();
  await page.close();
  assert.deepEqual(pageErrors, [], 'no errors in the page');
});
