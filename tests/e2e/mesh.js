// mesh.js: start the three real node binaries on loopback for the browser tests
// (the JavaScript twin of tests/integration/mesh.py). Each Mesh gets its own
// free ports outside the kernel's ephemeral range, a temporary data
// directory and its own CURVE keys in it (ledger-keys init, LEDGER_KEYS_DIR
// for every node; `plaintext: true` runs the links on plain TCP instead);
// close() always kills the processes and removes the directory.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '..', '..');
export const NODES = ['accounts', 'fraud', 'gateway'];
// The principals of the demo (scripts/demo.sh makes the same): an operator with every
// scope, and one customer per demo person.
const CUSTOMER_SCOPES = ['transfers:write', 'transfers:read', 'accounts:read', 'events:read'];
const OPERATOR_SCOPES = [...CUSTOMER_SCOPES, 'accounts:open', 'deposits:write', 'risk:read'];
export const CUSTOMERS = ['alice', 'bob', 'carol', 'dave', 'mallory'];
// What startAll deposits into each demo account (pence): the accounts node opens them at
// zero, each owned by the customer of its id, and no request creates money.
export const DEMO_BALANCES = { alice: 100000, bob: 25000, carol: 500000, dave: 5000, mallory: 1000000 };

const live = new Set();
function killAllNow() {
  for (const mesh of live) mesh.killAllSync();
}
process.on('exit', killAllNow);
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => { killAllNow(); process.exit(130); });
}

function ephemeralRange() {
  try {
    const [low, high] = fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
      .trim().split(/\s+/).map(Number);
    if (low > 0 && high > low) return [low, high];
  } catch { /* fall through */ }
  return [32768, 60999];
}

const handedOut = new Set();
function canBind(port) {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host: '127.0.0.1', exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/** A port that is free now and outside the ephemeral range, so that the nodes'
 *  own outgoing connections can never take it first. */
export async function freePort() {
  const [low, high] = ephemeralRange();
  const [from, to] = low > 12000 ? [10000, low - 1] : [high + 1, 65535];
  for (let i = 0; i < 1000; i++) {
    const port = from + Math.floor(Math.random() * (to - from + 1));
    if (handedOut.has(port)) continue;
    if (await canBind(port)) { handedOut.add(port); return port; }
  }
  throw new Error('no free port');
}

/** Polls check() until it returns something truthy or the deadline passes. */
export async function waitUntil(check, { timeout = 20000, what = 'condition', interval = 50 } = {}) {
  const deadline = Date.now() + timeout;
  for (;;) {
    let last;
    try { last = await check(); } catch { last = undefined; }
    if (last) return last;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, interval));
  }
}

export class Mesh {
  /** `operatorScopes`: scopes the operator gets on top of OPERATOR_SCOPES (e.g. accounts:manage,
   *  which scripts/demo.sh gives it; a gateway that does not know a scope refuses the principal). */
  constructor({ buildDir, webDir, plaintext = false, operatorScopes = [] } = {}) {
    this.operatorScopes = [...OPERATOR_SCOPES, ...operatorScopes];
    this.buildDir = path.resolve(buildDir || process.env.LEDGER_BUILD_DIR || path.join(repoRoot, 'build'));
    this.webDir = path.resolve(webDir || process.env.LEDGER_WEB_DIR || path.join(repoRoot, 'web', 'dist'));
    this.tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-e2e-'));
    this.plaintext = plaintext; // LEDGER_INSECURE_PLAINTEXT=1 for every node, no keys
    this.keysDir = plaintext ? null : path.join(this.tmp, 'keys'); // made by ensureMeshKeys
    this.procs = {};
    this.ports = {};
    this.httpPort = 0;
    this.keys = {}; // principal -> API key (ensureKeys); this.keys.operator on every request
    this.fundingIds = new Set(); // the deposits startAll made (fundDemo), left out of allTransfers
    live.add(this);
  }

  get baseUrl() { return `http://127.0.0.1:${this.httpPort}`; }

  async pickPorts() {
    for (const node of NODES) {
      this.ports[node] = { inbox: await freePort(), feed: await freePort(), admin: await freePort() };
    }
    this.httpPort = await freePort();
  }

  /** This mesh's CURVE keys (ledger-keys init into its temp dir), once; a failure of the tool
   *  fails the test with its output. */
  ensureMeshKeys() {
    if (!this.keysDir || fs.existsSync(this.keysDir)) return;
    const tool = path.join(this.buildDir, 'tools', 'keys', 'ledger-keys');
    try {
      execFileSync(tool, ['init', '--dir', this.keysDir], { stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (e) {
      throw new Error(`ledger-keys init --dir ${this.keysDir}: ${e.stderr || e.message}`);
    }
  }

  endpoint(node, kind = 'inbox') { return `tcp://127.0.0.1:${this.ports[node][kind]}`; }

  envFor(node) {
    const env = {
      ...process.env,
      LEDGER_DATA_DIR: path.join(this.tmp, 'data', node),
      LEDGER_INBOX: this.endpoint(node, 'inbox'),
      LEDGER_FEED: this.endpoint(node, 'feed'),
      LEDGER_ADMIN_PORT: String(this.ports[node].admin),
      LEDGER_ACCOUNTS_ENDPOINT: this.endpoint('accounts'),
      LEDGER_FRAUD_ENDPOINT: this.endpoint('fraud'),
      LEDGER_GATEWAY_ENDPOINT: this.endpoint('gateway'),
      LEDGER_HTTP_PORT: String(this.httpPort),
      LEDGER_WEB_DIR: this.webDir,
      LEDGER_LOG_LEVEL: 'info',
      LEDGER_RETRY_MIN_MS: '50',
      LEDGER_RETRY_MAX_MS: '500',
    };
    if (node === 'accounts') env.LEDGER_DEMO = '1';
    // Never the caller's keys (an exported LEDGER_KEYS_DIR for the harness): this mesh's own.
    delete env.LEDGER_KEYS_DIR;
    delete env.LEDGER_NODE_KEY;
    if (this.plaintext) env.LEDGER_INSECURE_PLAINTEXT = '1';
    else env.LEDGER_KEYS_DIR = this.keysDir;
    return env;
  }

  start(node) {
    const p = this.procs[node];
    if (p && p.exitCode === null && p.signalCode === null) throw new Error(`${node} already running`);
    this.ensureMeshKeys();
    const binary = path.join(this.buildDir, 'nodes', `ledger-${node}`);
    const log = fs.openSync(path.join(this.tmp, `${node}.log`), 'a');
    const proc = spawn(binary, [], { env: this.envFor(node), stdio: ['ignore', log, log] });
    fs.closeSync(log);
    proc.exited = new Promise((resolve) => proc.once('exit', resolve));
    proc.on('error', () => {}); // a missing binary shows up as "did not start"
    this.procs[node] = proc;
    return proc;
  }

  running(node) {
    const p = this.procs[node];
    return !!p && p.exitCode === null && p.signalCode === null;
  }

  /** The demo's principals and a key of each, made once per data dir through the admin port. */
  async ensureKeys() {
    if (this.keys.operator) return true;
    const admin = `http://127.0.0.1:${this.ports.gateway.admin}`;
    const keys = {};
    const wanted = [['operator', 'operator', this.operatorScopes], ...CUSTOMERS.map((c) => [c, 'customer', CUSTOMER_SCOPES])];
    for (const [id, kind, scopes] of wanted) {
      const made = await fetch(`${admin}/principals`, {
        method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ id, kind, scopes }), signal: AbortSignal.timeout(2000),
      });
      if (made.status !== 200 && made.status !== 201) {
        this.keysError = `POST /principals ${id} (scopes ${scopes.join(' ')}): ${made.status} ${await made.text()}`;
        return false;
      }
      const key = await fetch(`${admin}/principals/${id}/keys`, {
        method: 'POST', headers: { 'Content-Type': 'application/json' }, signal: AbortSignal.timeout(2000),
      });
      if (key.status !== 201) return false;
      keys[id] = (await key.json()).key;
    }
    this.keys = keys;
    return true;
  }

  /** The page's sign-in link fragment (scripts/demo.sh prints the same). */
  signinFragment() {
    return `#signin=${Buffer.from(JSON.stringify(this.keys)).toString('base64url')}`;
  }

  async accountsUp() {
    try {
      if (!(await this.ensureKeys())) return false;
      const res = await fetch(`${this.baseUrl}/api/accounts`, {
        headers: { Authorization: `Bearer ${this.keys.operator}` }, signal: AbortSignal.timeout(2000),
      });
      return res.status === 200;
    } catch { return false; }
  }

  /** Starts the three nodes; if one dies at start (a port was taken in the
   *  meantime), starts again on fresh ports. */
  async startAll(attempts = 3) {
    if (!fs.existsSync(path.join(this.buildDir, 'nodes', 'ledger-gateway'))) {
      throw new Error(`no node binaries in ${this.buildDir}/nodes: build first (LEDGER_BUILD_DIR)`);
    }
    for (let attempt = 0; attempt < attempts; attempt++) {
      await this.pickPorts();
      for (const node of NODES) this.start(node);
      try {
        await waitUntil(async () => (await this.accountsUp()) || NODES.some((n) => !this.running(n)),
          { timeout: 20000, what: 'the mesh to start' });
      } catch { /* retried below */ }
      if (NODES.every((n) => this.running(n)) && (await this.accountsUp())) {
        await waitUntil(() => this.ownersFilled(), { what: "the gateway's owner map" });
        if (this.fundingIds.size === 0) await this.fundDemo();
        return this;
      }
      for (const node of NODES) await this.kill(node);
      fs.rmSync(path.join(this.tmp, 'data'), { recursive: true, force: true });
      this.keys = {}; // their records went with the data
      this.fundingIds = new Set();
    }
    const why = this.keysError ? ` (the demo's principals: ${this.keysError})` : '';
    throw new Error(`the mesh did not start${why}; logs:\n${this.logs()}`);
  }

  /** True once the gateway filled its owner map from the accounts node (gateway_owners_fill.h,
   *  ledger_gateway_owners_fill_done 1 on /metrics): until then a transfer from an account it
   *  has not passed yet is refused 403. */
  async ownersFilled() {
    const r = await fetch(`http://127.0.0.1:${this.ports.gateway.admin}/metrics`, {
      signal: AbortSignal.timeout(2000),
    });
    return r.ok && /^ledger_gateway_owners_fill_done 1$/m.test(await r.text());
  }

  /** Deposits DEMO_BALANCES as the operator (POST /api/deposits) and waits for each to settle. */
  async fundDemo() {
    const ids = [];
    for (const [account, amount] of Object.entries(DEMO_BALANCES)) {
      const r = await this.request('POST', '/api/deposits', {
        body: { account, amount, currency: 'GBP', reference: 'demo deposit' },
        headers: { 'Idempotency-Key': `demo-${account}` },
      });
      if (r.status !== 202) throw new Error(`deposit into ${account}: ${r.status} ${JSON.stringify(r.data)}`);
      ids.push(r.data.id);
    }
    for (const id of ids) {
      const t = await this.waitFinal(id);
      if (t.status !== 'settled') throw new Error(`deposit ${id}: ${t.status}`);
    }
    this.fundingIds = new Set(ids);
  }

  async kill(node, signal = 'SIGKILL') {
    const p = this.procs[node];
    if (!p || !this.running(node)) return;
    p.kill(signal);
    const timer = setTimeout(() => { if (this.running(node)) p.kill('SIGKILL'); }, 10000);
    await p.exited;
    clearTimeout(timer);
  }

  async restart(node, signal = 'SIGKILL') {
    await this.kill(node, signal);
    this.start(node);
  }

  log(node) {
    try { return fs.readFileSync(path.join(this.tmp, `${node}.log`), 'utf8'); } catch { return ''; }
  }

  logs(lines = 40) {
    return NODES.map((n) => `----- ${n} log (last ${lines} lines) -----\n` +
      this.log(n).split('\n').slice(-lines).join('\n')).join('\n');
  }

  killAllSync() {
    for (const node of Object.keys(this.procs)) {
      if (this.running(node)) { try { this.procs[node].kill('SIGKILL'); } catch { /* gone */ } }
    }
  }

  async close() {
    for (const node of Object.keys(this.procs)) await this.kill(node);
    this.procs = {};
    if (process.env.LEDGER_KEEP_TMP) console.log(`kept ${this.tmp}`);
    else fs.rmSync(this.tmp, { recursive: true, force: true });
    live.delete(this);
  }

  // --- HTTP -----------------------------------------------------------------
  /** One request; /api paths carry the operator's key unless `as` names another principal. */
  async request(method, p, { body, headers = {}, as = 'operator' } = {}) {
    const init = { method, headers: { ...headers }, signal: AbortSignal.timeout(10000) };
    if (p.startsWith('/api') && this.keys[as] && !init.headers.Authorization) {
      init.headers.Authorization = `Bearer ${this.keys[as]}`;
    }
    if (body !== undefined) {
      init.body = typeof body === 'string' ? body : JSON.stringify(body);
      init.headers['Content-Type'] ??= 'application/json';
    }
    const res = await fetch(this.baseUrl + p, init);
    const text = await res.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch { data = text; }
    return { status: res.status, data, headers: res.headers };
  }

  /** POST /api/transfers as the owner of `from` (the customer of its id) unless `as` says;
   *  `extra` adds body fields (capture, expires_in_s). */
  async transfer(from, to, amount, { key, reference, as = from, currency = 'GBP', extra = {} } = {}) {
    const body = { from, to, amount, currency, ...extra };
    if (reference !== undefined) body.reference = reference;
    return this.request('POST', '/api/transfers', {
      body, as, headers: { 'Idempotency-Key': key || `e2e-${process.hrtime.bigint()}-${process.pid}` },
    });
  }

  async transferView(id, as = 'operator') {
    const { status, data } = await this.request('GET', `/api/transfers/${encodeURIComponent(id)}`, { as });
    if (status !== 200) throw new Error(`GET transfer ${id}: ${status}`);
    return data;
  }

  /** Waits until the transfer left pending (a final status, or authorized for a manual capture). */
  async waitFinal(id, timeout = 20000) {
    return waitUntil(async () => {
      const t = await this.transferView(id);
      return t.status !== 'pending' ? t : null;
    }, { timeout, what: `transfer ${id} to reach a final status` });
  }

  /** Waits until the transfer has `status` (and no action in flight). */
  async waitStatus(id, status, timeout = 20000) {
    return waitUntil(async () => {
      const t = await this.transferView(id);
      return t.status === status && !t.pending_action ? t : null;
    }, { timeout, what: `transfer ${id} to be ${status}` });
  }

  async accounts() {
    const { status, data } = await this.request('GET', '/api/accounts?limit=200');
    if (status !== 200) throw new Error(`GET accounts: ${status}`);
    return Object.fromEntries(data.accounts.map((a) => [a.id, a]));
  }

  async allTransfers() {
    const out = [];
    let cursor = null;
    for (;;) {
      const q = '/api/transfers?limit=200' + (cursor ? `&cursor=${encodeURIComponent(cursor)}` : '');
      const { status, data } = await this.request('GET', q);
      if (status !== 200) throw new Error(`GET transfers: ${status}`);
      out.push(...data.transfers.filter((t) => !this.fundingIds.has(t.id)));
      cursor = data.next_cursor;
      if (!cursor) return out;
    }
  }
}
