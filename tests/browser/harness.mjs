// The rig every browser test file shares: a real bluelink-gateway (three agencies, five users,
// failpoints), a TCP proxy in front of it that a test can cut (Police signs in through it), a tile
// server that starts down, and headless Chromium (Debian's /usr/bin/chromium, playwright-core)
// with a Fire and a Police operator signed in. A test file calls useRig() once at its top; the
// exported bindings (fire, police, base, ...) are filled in before its first test runs. Each test
// file runs in a process of its own (node --test), so each has a gateway of its own.
import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
// playwright-core is a devDependency of the console; resolve it from there.
const { chromium } = createRequire(join(root, 'console', 'package.json'))('playwright-core');

export const GATEWAY = process.env.BLUELINK_GATEWAY;
export const CLI = process.env.BLUELINK_CLI;
export const SCHEMAS = join(root, 'schemas');
export const SHOTS = join(root, 'docs', 'screenshots');
export const PASSWORD = 'correct horse battery staple';

// The whole run must end by itself, whatever hangs: the gateway is killed and the process exits.
const guard = setTimeout(() => {
  console.error('browser tests: overall time limit (240 s) reached');
  gateway?.kill('SIGKILL');
  process.exit(1);
}, 240_000);
guard.unref();

export let dir;
export let gateway;
let gatewayErr = '';
export let base; // the gateway, directly (Fire)
export let proxyBase; // the gateway through a proxy the test can cut (Police)
export let proxy;
export let tiles;
export let browser;
export let fire;
export let police;
export let failpoints;

// A tile server on loopback. It starts "down" (every connection is dropped, as when the map
// provider cannot be reached), so the map must fall back to coordinates; a later test brings it up.
const TILE = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');
export function startTiles() {
  const state = { up: false, served: 0 };
  const server = http.createServer((req, res) => {
    if (!state.up || !/^\/\d+\/\d+\/\d+\.png$/.test(req.url)) return req.socket.destroy();
    state.served++;
    res.writeHead(200, { 'Content-Type': 'image/png', 'Content-Length': TILE.length });
    res.end(TILE);
  });
  return new Promise((res) => server.listen(0, '127.0.0.1', () => res(Object.assign(state, {
    port: server.address().port,
    close() { server.closeAllConnections?.(); server.close(); },
  }))));
}

export function config(port) {
  const agencies = [
    ['essex-fire', 'Essex County Fire and Rescue Service', 'fire', '01632 960100'],
    ['essex-police', 'Essex Police', 'police', '01632 960200'],
    ['eeast-ambulance', 'East of England Ambulance Service', 'ambulance', '01632 960300'],
    // A room with nobody signed in is shown out after outage_after_s (issue 16); an hour here, so
    // that no banner appears in the other files' screens mid-test (outage.test.mjs sets its own).
  ].map(([id, name, kind, phone]) => ({ id, name, kind, phone, outage_after_s: 3600 }));
  return {
    listen: { address: '127.0.0.1', port },
    database: { path: join(dir, 'bluelink.db'), synchronous: 'full' },
    agencies,
    priorities: {
      emergency: { time_to_delivery_s: 60, time_to_decision_s: 180, default_expiry_s: 900 },
      urgent: { time_to_delivery_s: 300, time_to_decision_s: 900, default_expiry_s: 3600 },
      // Routine requests stall after 2 s so that the phone-fallback prompt can be seen quickly.
      routine: { time_to_delivery_s: 2, time_to_decision_s: 14400, default_expiry_s: 86400 },
    },
    console: { dir: join(root, 'console'), tile_url: `http://127.0.0.1:${tiles.port}/{z}/{x}/{y}.png`, tile_attribution: 'test tiles' },
    log: { level: 'info' },
  };
}

export function addUser(username, name, agency, role = 'operator') {
  const r = spawnSync(CLI, ['user', 'add', '--config', join(dir, 'config.json'), '--username', username,
    '--name', name, '--role', role, ...(agency ? ['--agency', agency] : []), '--password-stdin'],
  { input: `${PASSWORD}\n`, env: { ...process.env, BLUELINK_SCHEMAS: SCHEMAS }, encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, `bluelink user add ${username} failed: ${r.stderr}${r.stdout}`);
}

export async function startGateway() {
  const ready = join(dir, 'ready.json');
  rmSync(ready, { force: true });
  gateway = spawn(GATEWAY, ['--config', join(dir, 'config.json'), '--schemas', SCHEMAS, '--ready-file', ready],
    { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  gateway.stderr.on('data', (d) => { gatewayErr += d; });
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (gateway.exitCode !== null) throw new Error(`the gateway exited (${gateway.exitCode}):\n${gatewayErr}`);
    if (existsSync(ready)) return JSON.parse(readFileSync(ready, 'utf8')).port;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`the gateway wrote no ready file within 15 s:\n${gatewayErr}`);
}

// A TCP proxy in front of the gateway: cut() drops every connection through it and refuses new
// ones until restore(), which is what a network drop looks like to the browser.
export function startProxy(port) {
  const sockets = new Set();
  let refusing = false;
  const server = net.createServer((client) => {
    if (refusing) return client.destroy();
    const up = net.connect(port, '127.0.0.1');
    for (const s of [client, up]) {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => { sockets.delete(s); client.destroy(); up.destroy(); });
    }
    client.pipe(up);
    up.pipe(client);
  });
  return new Promise((res) => server.listen(0, '127.0.0.1', () => res({
    port: server.address().port,
    cut() { refusing = true; for (const s of sockets) s.destroy(); },
    restore() { refusing = false; },
    close() { for (const s of sockets) s.destroy(); server.close(); },
  })));
}

export async function signIn(url, username, password = PASSWORD) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error(`[${username}] page error: ${e.message}`));
  await page.goto(`${url}/`);
  await page.fill('#login-username', username);
  await page.fill('#login-password', password);
  await page.click('#login-form button[type=submit]');
  await page.waitForSelector('body[data-live="yes"]');
  return { context, page, username };
}

// Sends `n` requests from the agency signed in on `page`, through the console's own API module
// (same session, same anti-forgery token), the way an integration would: quicker than composing.
export const EXAMPLE = JSON.parse(readFileSync(join(root, 'schemas/examples/valid/message/06-request-police-scene-security-basildon-fire.json'), 'utf8'));
export async function sendRequests(page, n, { from, to, priority = 'urgent', label }) {
  return page.evaluate(async ({ n, from, to, priority, label, example }) => {
    const api = await import('/js/api.js');
    const ids = [];
    for (let i = 0; i < n; i++) {
      const m = structuredClone(example);
      m.id = `${from}:${crypto.randomUUID()}`;
      m.from = from;
      m.to = [to];
      m.sent_at = new Date().toISOString();
      delete m.expires_at;
      m.body.priority = priority;
      m.body.summary = `${label} ${i + 1}`;
      const r = await api.post('/api/v1/messages', m);
      ids.push(r.receipt.transfer_id);
    }
    return ids;
  }, { n, from, to, priority, label, example: EXAMPLE });
}

// Presses Tab until the focused element matches `selector`: the keyboard-only way to a field.
export async function tabTo(page, selector, max = 80) {
  for (let i = 0; i < max; i++) {
    if (await page.evaluate((sel) => document.activeElement?.matches(sel), selector)) return;
    await page.keyboard.press('Tab');
  }
  throw new Error(`Tab never reached ${selector}`);
}
export const rowTop = (page, id) => page.evaluate((tid) =>
  document.querySelector(`a.row[data-transfer-id="${tid}"]`)?.getBoundingClientRect().top, id);

export const nav = (page, hash) => page.evaluate((h) => { location.hash = h; }, hash);
export const field = (page, pointer) => page.locator(`[data-pointer="${pointer}"]`);

// Fills the compose screen from a template and sends it; returns the new transfer id.
export async function composeAndSend(page, { category, to, summary, incident, address, postcode, text, shot }) {
  await nav(page, '#/compose');
  await page.waitForSelector('#compose-form');
  await field(page, '/body/category').selectOption(category);
  if (to) await field(page, '/to').selectOption(to);
  await field(page, '/body/summary').fill(summary);
  await field(page, '/body/sender_incident/number').fill(incident);
  await field(page, '/body/methane/exact_location/address').fill(address);
  await field(page, '/body/methane/exact_location/postcode').fill(postcode);
  await field(page, '/body/methane/type_of_incident/text').fill(text);
  if (shot) await shot();
  await page.click('#compose-send');
  await page.waitForURL(/#\/transfer\/T-\d{8}-\d{6}$/);
  return decodeURIComponent(new URL(page.url()).hash.split('/')[2]);
}

export async function act(page, action, fill = async () => {}) {
  await page.click(`[data-action="${action}"]`);
  await page.waitForSelector(`#form-${action}`);
  await fill();
  await page.click('#action-submit');
  await page.waitForSelector(`#form-${action}`, { state: 'detached' });
}

// Registers the rig's start and stop with node:test; call once, at the top of a test file.
// `configure(cfg, dir)`, if given, may change the gateway's config before it is written (a CAD
// key for an agency, agency areas, ...).
export function useRig({ configure } = {}) {
  before(async () => {
    for (const [name, v] of [['BLUELINK_GATEWAY', GATEWAY], ['BLUELINK_CLI', CLI]])
      assert.ok(v && existsSync(v), `${name} must name the built binary (got '${v ?? ''}')`);
    assert.ok(existsSync(join(root, 'console/vendor/leaflet/leaflet.js')), 'run `npm ci && npm run vendor` in console/ first');
    dir = mkdtempSync(join(tmpdir(), 'bluelink-browser-'));
    tiles = await startTiles();
    const cfg = config(0);
    if (configure) await configure(cfg, dir);
    writeFileSync(join(dir, 'config.json'), JSON.stringify(cfg, null, 2));
    addUser('fire.op', 'Sam Fire', 'essex-fire');
    addUser('police.op', 'Alex Police', 'essex-police');
    addUser('fire.sup', 'Kim Watch-Manager', 'essex-fire', 'supervisor');
    addUser('admin', 'Pat Admin', '', 'admin');
    addUser('manager', 'Lee Manager', '', 'manager');
    // Faults a test injects into the gateway (gateway/core/failpoint.hpp).
    failpoints = join(dir, 'failpoints');
    writeFileSync(failpoints, '');
    process.env.BLUELINK_FAILPOINT_FILE = failpoints;
    const port = await startGateway();
    base = `http://127.0.0.1:${port}`;
    proxy = await startProxy(port);
    proxyBase = `http://127.0.0.1:${proxy.port}`;
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'], headless: true });
    fire = await signIn(base, 'fire.op');
    police = await signIn(proxyBase, 'police.op');
    mkdirSync(SHOTS, { recursive: true });
  });

  after(async () => {
    await browser?.close().catch(() => {});
    proxy?.close();
    tiles?.close();
    if (gateway && gateway.exitCode === null) {
      const exited = new Promise((r) => gateway.once('exit', r));
      gateway.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (gateway.exitCode === null) gateway.kill('SIGKILL');
    }
    if (dir && !process.env.BL_KEEP_TEST_DIRS) rmSync(dir, { recursive: true, force: true });
    clearTimeout(guard);
  });
}
