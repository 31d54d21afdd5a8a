// The browser demo end to end: Debian's chromium (playwright-core) against the
// page served by the real gateway, with the real accounts and fraud nodes
// behind it. Run: LEDGER_BUILD_DIR=../../build node --test (after building
// web/ with `npm run build`). Screenshots go to tests/e2e/artifacts/;
// LEDGER_README_SHOT=1 also refreshes docs/demo.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Mesh, waitUntil, repoRoot } from './mesh.js';
import { launchBrowser, screenshot } from './browser.js';

let mesh;
let browser;
const pageErrors = [];

const pounds = (pence) => {
  const neg = pence < 0;
  const a = Math.abs(pence);
  const whole = String(Math.trunc(a / 100)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${neg ? '-' : ''}£${whole}.${String(a % 100).padStart(2, '0')}`;
};
const exact = (s) => new RegExp(`^\\s*${s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*$`);

before(async () => {
  const index = path.join(repoRoot, 'web', 'dist', 'index.html');
  assert.ok(fs.existsSync(index), 'web/dist is missing: run `npm run build` in web/ first');
  mesh = new Mesh();
  await mesh.startAll();
  browser = await launchBrowser();
});

after(async () => {
  if (browser) await browser.close();
  if (mesh) await mesh.close();
});

/** The page signed in with the demo's keys, speaking as `as` (the operator by default: it
 *  sees every account; a customer sees its own). */
async function openPage({ width, height, as = 'operator' } = {}) {
  const page = await browser.context.newPage();
  if (width) await page.setViewportSize({ width, height: height || 844 });
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

// GET /api/events?token=... (a glob without the query would not match it)
const eventsUrl = (url) => url.pathname === '/api/events';

function balance(page, id, what = 'balance') {
  return page.locator(`[data-testid=account-${id}] [data-testid=${what}]`);
}

async function expectText(locator, text, timeout = 15000) {
  await locator.filter({ hasText: exact(text) }).first().waitFor({ timeout });
}

async function fillForm(page, { from, to, amount, reference = '' }) {
  await page.locator('[data-testid=from]').selectOption(from);
  await page.locator('[data-testid=to]').selectOption(to);
  await page.locator('[data-testid=amount]').fill(amount);
  await page.locator('[data-testid=reference]').fill(reference);
}

/** The id of the transfer shown in the detail panel once the gateway acknowledged it. */
async function selectedServerId(page) {
  const el = page.locator('[data-testid=detail-id]').filter({ hasText: /^\s*tr_/ });
  await el.waitFor();
  return (await el.textContent()).trim();
}

function row(page, id, status) {
  return page.locator(`[data-testid=transfer-row][data-id="${id}"]${status ? `[data-status=${status}]` : ''}`);
}

test('an invalid amount shows an error and sends nothing', async () => {
  const page = await openPage({ as: 'alice' });
  const posts = [];
  page.on('request', (r) => { if (r.method() === 'POST' && r.url().includes('/api/transfers')) posts.push(r.url()); });
  const cases = [
    ['1.234', /two decimal/i], ['-1', /sign/i], ['1e5', /in GBP/i], ['', /enter an amount/i], ['abc', /in GBP/i], ['0', /more than/i],
  ];
  for (const [typed, message] of cases) {
    await fillForm(page, { from: 'alice', to: 'bob', amount: typed });
    await page.locator('[data-testid=send]').click();
    await page.locator('[data-testid=amount-error]').filter({ hasText: message }).waitFor();
  }
  await fillForm(page, { from: 'alice', to: 'alice', amount: '5.00' });
  await page.locator('[data-testid=send]').click();
  await page.locator('[data-testid=to-error]').filter({ hasText: /different accounts/ }).waitFor();
  await fillForm(page, { from: 'alice', to: 'bob', amount: '1.234' });
  await page.locator('[data-testid=send]').click();
  await page.locator('[data-testid=amount-error]').waitFor();
  await screenshot(page, '01-invalid-amount');
  assert.deepEqual(posts, []);
  // alice's page lists only the deposit that funded her account
  const shown = await page.locator('[data-testid=transfer-row]').evaluateAll((els) => els.map((e) => e.dataset.id));
  assert.ok(shown.every((id) => mesh.fundingIds.has(id)), shown.join(', '));
  assert.deepEqual(await mesh.allTransfers(), []);
  await page.close();
});

test('a successful transfer reaches settled on the page and the balances change', async () => {
  const before = await mesh.accounts();
  const page = await openPage({ as: 'alice' });
  await fillForm(page, { from: 'alice', to: 'bob', amount: '12.34', reference: 'lunch' });
  // record every state a row goes through: the saga can finish within milliseconds
  await page.evaluate(() => {
    window.seenRows = [];
    const record = () => {
      for (const el of document.querySelectorAll('[data-testid=transfer-row]')) {
        const s = `${el.dataset.id} ${el.dataset.status}`;
        if (!window.seenRows.includes(s)) window.seenRows.push(s);
      }
    };
    new MutationObserver(record).observe(document.body, { subtree: true, childList: true, attributes: true });
  });
  await page.locator('[data-testid=send]').click();
  const id = await selectedServerId(page);
  await row(page, id, 'settled').waitFor();
  // the optimistic entry showed at once as pending, before the gateway's answer
  const seen = await page.evaluate(() => window.seenRows);
  assert.ok(seen.some((s) => /^local:\S+ pending$/.test(s)), seen.join(', '));
  await expectText(balance(page, 'alice'), pounds(before.alice.balance - 1234));
  await expectText(balance(page, 'alice', 'held'), pounds(0));
  assert.equal(await page.locator('[data-testid=account-bob]').count(), 0, "alice sees only her own account");
  const view = await mesh.transferView(id);
  assert.equal(view.status, 'settled');
  assert.equal(view.amount, 1234);
  assert.equal(view.reference, 'lunch');
  const after = await mesh.accounts();
  assert.equal(after.alice.balance, before.alice.balance - 1234);
  assert.equal(after.bob.balance, before.bob.balance + 1234);
  // the saga's timeline: gateway -> accounts -> fraud -> accounts -> gateway
  const nodes = await page.locator('[data-testid=step]').evaluateAll((els) => els.map((e) => e.dataset.node));
  assert.deepEqual(nodes, ['gateway', 'accounts', 'fraud', 'accounts', 'gateway']);
  await screenshot(page, '02-settled');
  await page.close();
});

test('a fraudulent transfer ends rejected_fraud and the balances do not change', async () => {
  const before = await mesh.accounts();
  const page = await openPage();
  await page.locator('[data-testid=fraud]').click();
  const id = await selectedServerId(page);
  await row(page, id, 'rejected_fraud').waitFor();
  await row(page, id).locator('[data-testid=reason]').filter({ hasText: /fraud/ }).waitFor();
  const view = await mesh.transferView(id);
  assert.equal(view.status, 'rejected_fraud');
  assert.equal(view.from, 'mallory');
  assert.ok(view.reason && view.reason.rules.length > 0, JSON.stringify(view.reason));
  for (const rule of view.reason.rules) {
    await page.locator('[data-testid=timeline] [data-testid=rule]').filter({ hasText: exact(rule) }).first().waitFor();
  }
  // the hold is released: nothing moved
  await waitUntil(async () => (await mesh.accounts()).mallory.held === 0, { what: 'the hold to be released' });
  const after = await mesh.accounts();
  for (const acct of ['mallory', 'bob']) {
    assert.equal(after[acct].balance, before[acct].balance);
    assert.equal(after[acct].available, before[acct].available);
    await expectText(balance(page, acct), pounds(before[acct].balance));
    await expectText(balance(page, acct, 'available'), pounds(before[acct].available));
  }
  await expectText(balance(page, 'mallory', 'held'), pounds(0));
  await screenshot(page, '03-rejected-fraud');
  if (process.env.LEDGER_README_SHOT) {
    fs.mkdirSync(path.join(repoRoot, 'docs'), { recursive: true });
    for (const close of await page.locator('[data-testid=note] button').all()) await close.click();
    await page.locator('[data-testid=note]').first().waitFor({ state: 'detached' });
    await page.setViewportSize({ width: 1280, height: 920 });
    await page.evaluate(() => window.scrollTo(0, 0)); // the button clicked is low on the page
    await page.screenshot({ path: path.join(repoRoot, 'docs', 'demo.png') });
  }
  await page.close();
});

test('"send twice" posts one key twice and makes one transfer', async () => {
  const page = await openPage({ as: 'carol' });
  const keys = [];
  page.on('request', (r) => {
    if (r.method() === 'POST' && r.url().endsWith('/api/transfers')) keys.push(r.headers()['idempotency-key']);
  });
  await fillForm(page, { from: 'carol', to: 'dave', amount: '20', reference: 'sent twice' });
  await page.locator('[data-testid=send-twice]').click();
  const note = page.locator('[data-testid=send-twice-note]').filter({ hasText: /1 transfer: tr_/ });
  await note.waitFor();
  const id = (await note.textContent()).match(/tr_[A-Za-z0-9_]+/)[0];
  assert.equal(keys.length, 2);
  assert.equal(keys[0], keys[1]);
  await row(page, id, 'settled').waitFor();
  assert.equal(await row(page, id).count(), 1);
  assert.equal(await page.locator('[data-testid=transfer-row][data-id^="local:"]').count(), 0);
  const matching = (await mesh.allTransfers()).filter((t) => t.reference === 'sent twice');
  assert.deepEqual(matching.map((t) => t.id), [id]);
  // the gateway says the second answer was a replay
  const again = await mesh.transfer('carol', 'dave', 2000, { key: keys[0], reference: 'sent twice' });
  assert.equal(again.status, 202);
  assert.equal(again.data.id, id);
  assert.equal(again.headers.get('idempotent-replayed'), 'true');
  await screenshot(page, '04-send-twice');
  await page.close();
});

test('a network error keeps the transfer for a retry with the same Idempotency-Key', async () => {
  const page = await openPage({ as: 'bob' });
  const keys = [];
  page.on('request', (r) => {
    if (r.method() === 'POST' && r.url().endsWith('/api/transfers')) keys.push(r.headers()['idempotency-key']);
  });
  await page.route('**/api/transfers', (route) => (route.request().method() === 'POST' ? route.abort('connectionrefused') : route.fallback()));
  await fillForm(page, { from: 'bob', to: 'carol', amount: '3.21', reference: 'retry me' });
  await page.locator('[data-testid=send]').click();
  await page.locator('[data-testid=form-error]').filter({ hasText: /cannot be reached/ }).waitFor();
  await page.locator('[data-testid=retry]').waitFor();
  await screenshot(page, '05-unreachable');
  assert.deepEqual(await mesh.allTransfers().then((l) => l.filter((t) => t.reference === 'retry me')), []);
  await page.unroute('**/api/transfers');
  await page.locator('[data-testid=retry]').click();
  const id = await selectedServerId(page);
  await row(page, id, 'settled').waitFor();
  await page.locator('[data-testid=form-error]').waitFor({ state: 'detached' });
  assert.ok(keys.length >= 2, `${keys.length} POSTs`);
  assert.equal(new Set(keys).size, 1, 'the retry reuses the key');
  assert.deepEqual((await mesh.allTransfers()).filter((t) => t.reference === 'retry me').map((t) => t.id), [id]);
  await page.close();
});

test('a stream drop (gateway restarted) shows reconnecting and the page catches up', async () => {
  const page = await openPage();
  const before = await mesh.accounts();
  // keep the page away from the stream until the transfer below has completed
  await page.route(eventsUrl, (route) => route.abort('connectionrefused'));
  await mesh.kill('gateway', 'SIGKILL');
  await page.locator('[data-testid=stream-status][data-state=reconnecting]').waitFor();
  await page.locator('[data-testid=reconnecting-banner]').waitFor();
  await screenshot(page, '06-reconnecting');
  mesh.start('gateway');
  await waitUntil(() => mesh.accountsUp(), { what: 'the gateway to come back' });
  const sent = await mesh.transfer('dave', 'alice', 700, { reference: 'while you were away' });
  assert.equal(sent.status, 202, JSON.stringify(sent.data));
  const done = await mesh.waitFinal(sent.data.id);
  assert.equal(done.status, 'settled');
  await page.unroute(eventsUrl);
  await page.locator('[data-testid=stream-status][data-state=live]').waitFor({ timeout: 30000 });
  await row(page, sent.data.id, 'settled').waitFor();
  await expectText(balance(page, 'dave'), pounds(before.dave.balance - 700));
  await expectText(balance(page, 'alice'), pounds(before.alice.balance + 700));
  // and it is live again: a new transfer comes in through the stream
  const next = await mesh.transfer('alice', 'carol', 100, { reference: 'after the restart' });
  assert.equal(next.status, 202);
  await row(page, next.data.id, 'settled').waitFor();
  await screenshot(page, '07-caught-up');
  await page.close();
});

test('the sign-in link signs the page in, leaves the address bar, and the principal can be switched', async () => {
  const page = await openPage();
  assert.ok(!page.url().includes('signin'), `the fragment is still there: ${page.url()}`);
  const stored = JSON.parse(await page.evaluate(() => sessionStorage.getItem('ledger.session')));
  assert.deepEqual(Object.keys(stored.keys).sort(), Object.keys(mesh.keys).sort());
  assert.equal(await page.locator('[data-testid=principal]').inputValue(), 'operator');
  await page.locator('[data-testid=principal]').selectOption('alice');
  await page.locator('[data-testid=stream-status][data-state=live]').waitFor();
  await page.locator('[data-testid=account-alice]').waitFor();
  // alice's key now: a transfer sent from the page is alice's (her key in the header)
  const sent = page.waitForRequest((r) => r.method() === 'POST' && r.url().endsWith('/api/transfers'));
  await fillForm(page, { from: 'alice', to: 'bob', amount: '0.05', reference: 'as alice' });
  await page.locator('[data-testid=send]').click();
  assert.equal((await sent).headers().authorization, `Bearer ${mesh.keys.alice}`);
  await screenshot(page, '09-signed-in-as-alice');
  // a reload keeps the session of the tab (sessionStorage), without a link
  await page.reload();
  await page.locator('[data-testid=account-alice]').waitFor();
  assert.equal(await page.locator('[data-testid=principal]').inputValue(), 'alice');
  await page.close();
});

test('without a sign-in link the page says so and shows no data', async () => {
  const page = await browser.context.newPage();
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  await page.goto(`${mesh.baseUrl}/`);
  await page.locator('[data-testid=signed-out]').waitFor();
  assert.equal(await page.locator('[data-testid^=account-]').count(), 0);
  await page.close();
});

test('alice sees her own transfers and accounts, never bob\'s', async () => {
  const bobs = await mesh.transfer('bob', 'carol', 111, { reference: 'bob pays carol' });
  assert.equal(bobs.status, 202, JSON.stringify(bobs.data));
  const alices = await mesh.transfer('alice', 'dave', 222, { reference: 'alice pays dave' });
  assert.equal(alices.status, 202, JSON.stringify(alices.data));
  await mesh.waitFinal(bobs.data.id);
  await mesh.waitFinal(alices.data.id);
  const page = await openPage({ as: 'alice' });
  await row(page, alices.data.id, 'settled').waitFor();
  assert.equal(await row(page, bobs.data.id).count(), 0, "bob's transfer is not on alice's page");
  const ids = await page.locator('[data-testid=transfer-row]').evaluateAll((els) => els.map((e) => e.dataset.id));
  for (const id of ids) {
    const t = await mesh.transferView(id);
    assert.ok(t.from === 'alice' || t.to === 'alice', `alice's page shows ${id}: ${t.from} -> ${t.to}`);
  }
  assert.equal(await page.locator('[data-testid=account-bob]').count(), 0);
  // and the API agrees: bob's transfer is not found for alice, as if it did not exist
  assert.equal((await mesh.request('GET', `/api/transfers/${bobs.data.id}`, { as: 'alice' })).status, 404);
  // a live event of bob's never reaches her page either
  const later = await mesh.transfer('bob', 'carol', 112, { reference: 'bob again' });
  await mesh.waitFinal(later.data.id);
  const mine = await mesh.transfer('alice', 'carol', 113, { reference: 'alice again' });
  await row(page, mine.data.id, 'settled').waitFor();
  assert.equal(await row(page, later.data.id).count(), 0);
  await screenshot(page, '10-alice-sees-her-own');
  await page.close();
});

test('mallory sees her fraudulent transfer without the rules, the operator with them', async () => {
  const page = await openPage({ as: 'mallory' });
  await page.locator('[data-testid=fraud]').click();
  const id = await selectedServerId(page);
  await row(page, id, 'rejected_fraud').waitFor();
  await row(page, id).locator('[data-testid=reason]').filter({ hasText: /fraud/ }).waitFor();
  const asMallory = await mesh.transferView(id, 'mallory');
  assert.equal(asMallory.status, 'rejected_fraud');
  assert.ok(!asMallory.reason.rules || asMallory.reason.rules.length === 0, JSON.stringify(asMallory.reason));
  assert.ok(asMallory.timeline.every((s) => !s.rules || s.rules.length === 0), JSON.stringify(asMallory.timeline));
  assert.equal(await page.locator('[data-testid=timeline] [data-testid=rule]').count(), 0);
  await screenshot(page, '11-mallory-no-rules');
  await page.close();
  const op = await openPage();
  await row(op, id).click();
  const view = await mesh.transferView(id);
  assert.ok(view.reason.rules.includes('blocklisted_account'), JSON.stringify(view.reason));
  for (const rule of view.reason.rules) {
    await op.locator('[data-testid=timeline] [data-testid=rule]').filter({ hasText: exact(rule) }).first().waitFor();
  }
  await op.close();
});

test('sending from an account one does not own is impossible in the form and, forced, a friendly 403', async () => {
  const page = await openPage({ as: 'alice' });
  const offered = await page.locator('[data-testid=from] option').evaluateAll((els) => els.map((e) => e.value));
  assert.deepEqual(offered, ['alice', 'alice-eur']); // her GBP account and her EUR one, never bob's
  const before = (await mesh.allTransfers()).length;
  // force it: an option the form never offers, as a tampered page would send
  await page.locator('[data-testid=from]').evaluate((sel) => sel.add(new Option('Bob (bob)', 'bob')));
  await fillForm(page, { from: 'bob', to: 'carol', amount: '1.00', reference: 'not mine' });
  await page.locator('[data-testid=send]').click();
  await page.locator('[data-testid=from-error]').filter({ hasText: /only send money from an account you own/ }).waitFor();
  await screenshot(page, '12-forbidden-account');
  assert.equal((await mesh.allTransfers()).length, before, 'nothing was created');
  assert.equal(await page.locator('[data-testid=transfer-row][data-id^="local:"]').count(), 0);
  await page.close();
});

test('the operator deposits into a customer account from the settlement account', async () => {
  const before = await mesh.accounts();
  const page = await openPage();
  await page.locator('[data-testid=deposit-account]').selectOption('dave');
  await page.locator('[data-testid=deposit-amount]').fill('25.00');
  await page.locator('[data-testid=deposit]').click();
  await waitUntil(async () => (await mesh.accounts()).dave.balance === before.dave.balance + 2500,
    { what: 'the deposit to settle' });
  await expectText(balance(page, 'dave'), pounds(before.dave.balance + 2500));
  const deposit = (await mesh.allTransfers()).find((t) => t.kind === 'deposit' && t.to === 'dave');
  assert.ok(deposit, 'the deposit is listed with its kind');
  await row(page, deposit.id).locator('[data-testid=kind]').filter({ hasText: 'deposit' }).waitFor();
  await page.close();
});

test('reads well at phone width (390 px)', async () => {
  const page = await openPage({ width: 390, height: 844 });
  await page.locator('[data-testid=transfer-row]').first().waitFor();
  await page.locator('[data-testid=transfer-row]').first().click();
  await page.locator('[data-testid=timeline] [data-testid=step]').first().waitFor();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the page is ${overflow}px wider than the screen`);
  await screenshot(page, '08-phone-390');
  await page.close();
  assert.deepEqual(pageErrors, [], 'no errors in the page');
});
