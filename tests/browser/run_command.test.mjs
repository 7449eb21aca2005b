// The demo command as a new user runs it: `./tools/run` in a fresh clone of this repository (no
// console/node_modules, no console/vendor, no var/demo), with the dev build's binaries instead of
// a Release build (BLUELINK_PREBUILT) so that the test does not compile twice. What is tested is
// the command's effect: it fetches and vendors the map and chart libraries itself, the gateway
// serves them with a JavaScript MIME type, and a manager signing in to the demo sees the savings
// report drawn with its charts; a gateway killed with SIGKILL is started again by the command (it
// supervises the gateway as Restart=on-failure would); then Ctrl-C stops everything, the simulated
// CADs included.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const { chromium } = createRequire(join(root, 'console', 'package.json'))('playwright-core');
const GATEWAY = process.env.BLUELINK_GATEWAY;

let dir;
let run;
let browser;
let output = '';

const freePort = () => new Promise((res, rej) => {
  const s = net.createServer();
  s.on('error', rej);
  s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => res(port)); });
});

after(async () => {
  await browser?.close().catch(() => {});
  if (run && run.exitCode === null) {
    process.kill(-run.pid, 'SIGKILL');
  }
  if (dir && !process.env.BL_KEEP_TEST_DIRS) rmSync(dir, { recursive: true, force: true });
});

test('./tools/run in a fresh clone vendors and serves the map and chart libraries, the manager sees charts, and a killed gateway comes back', { timeout: 240_000 }, async () => {
  assert.ok(GATEWAY && existsSync(GATEWAY), `BLUELINK_GATEWAY must name the built gateway (got '${GATEWAY ?? ''}')`);
  const build = dirname(dirname(GATEWAY)); // <build>/gateway/bluelink-gateway
  for (const b of ['tools/cli/bluelink', 'tools/cad_sim/bluelink-cad-sim'])
    assert.ok(existsSync(join(build, b)), `${b} must be built in ${build}`);
  dir = mkdtempSync(join(tmpdir(), 'bluelink-run-'));
  const clone = join(dir, 'repo');
  const c = spawnSync('git', ['clone', '-q', '--no-local', root, clone], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(c.status, 0, `git clone failed: ${c.stderr}`);
  for (const absent of ['console/node_modules', 'console/vendor/leaflet/leaflet.js', 'var/demo'])
    assert.equal(existsSync(join(clone, absent)), false, `a fresh clone has no ${absent}`);

  const port = await freePort();
  const cadPort = await freePort();
  run = spawn(join(clone, 'tools/run'), [], {
    cwd: clone,
    detached: true, // its own process group: Ctrl-C reaches the script, the gateway and the CADs
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, BLUELINK_PREBUILT: build, BLUELINK_PORT: String(port), BLUELINK_CAD_PORT: String(cadPort) },
  });
  run.stdout.on('data', (d) => { output += d; });
  run.stderr.on('data', (d) => { output += d; });
  const deadline = Date.now() + 180_000;
  while (!output.includes('Press Ctrl-C to stop.')) {
    if (run.exitCode !== null) assert.fail(`./tools/run exited (${run.exitCode}):\n${output}`);
    if (Date.now() > deadline) assert.fail(`./tools/run was not ready within 180 s:\n${output}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const base = `http://127.0.0.1:${port}`;

  // The libraries are served from the gateway's own origin, as JavaScript, CSS and JSON.
  for (const [path, type] of [
    ['/vendor/leaflet/leaflet.js', /javascript/],
    ['/vendor/leaflet/leaflet.css', /text\/css/],
    ['/vendor/chartjs/chart.umd.min.js', /javascript/],
    ['/vendor/outline/great-britain.json', /json/],
  ]) {
    const r = await fetch(base + path);
    assert.equal(r.status, 200, `${path}: ${r.status}`);
    assert.match(r.headers.get('content-type') || '', type, `${path} is served as ${r.headers.get('content-type')}`);
    assert.ok((await r.arrayBuffer()).byteLength > 1000, `${path} has content`);
  }

  // The demo's manager signs in and sees the savings report drawn, with its charts.
  const creds = JSON.parse(readFileSync(join(clone, 'var/demo/credentials.json'), 'utf8'));
  const manager = creds.users.find((u) => u.role === 'manager');
  assert.ok(manager, 'the demo has a manager');
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'], headless: true });
  const page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
  await page.goto(`${base}/`);
  await page.fill('#login-username', manager.username);
  await page.fill('#login-password', manager.password);
  await page.click('#login-form button[type=submit]');
  await page.waitForSelector('#report[data-ready="yes"]', { timeout: 30_000 });
  assert.ok(await page.evaluate(() => typeof globalThis.Chart === 'function'), 'Chart.js loaded');
  assert.ok(await page.locator('#report canvas').count() >= 1, 'the report has charts');
  assert.doesNotMatch(await page.locator('#report').textContent(), /Charts are not available/);

  // The gateway dies (SIGKILL: no drain, no exit code of its own): ./tools/run says so and starts
  // it again, and it answers on the same port. Only this run's process group is searched.
  const inGroup = (pattern) => {
    const r = spawnSync('pgrep', ['-g', String(run.pid), '-f', pattern], { encoding: 'utf8' });
    return r.stdout.split('\n').filter(Boolean).map(Number);
  };
  const gateways = () => inGroup('gateway/bluelink-gateway --config');
  const killed = gateways();
  assert.equal(killed.length, 1, `one gateway runs under ./tools/run: ${killed}`);
  const before = output.length;
  process.kill(killed[0], 'SIGKILL');
  const restartBy = Date.now() + 30_000;
  let healthy = false;
  while (!healthy) {
    if (run.exitCode !== null) assert.fail(`./tools/run exited (${run.exitCode}) after the gateway was killed:\n${output.slice(-2000)}`);
    if (Date.now() > restartBy) assert.fail(`the gateway was not back within 30 s:\n${output.slice(before)}`);
    await new Promise((r) => setTimeout(r, 250));
    if (!output.includes('is running again', before)) continue;
    healthy = await fetch(`${base}/healthz`).then((r) => r.status === 200, () => false);
  }
  assert.match(output.slice(before), /the gateway was killed by signal 9 \(SIGKILL\) \(log: var\/demo\/gateway\.log\); restarting it in 1 s/);
  const restarted = gateways();
  assert.equal(restarted.length, 1, `one gateway runs again: ${restarted}`);
  assert.notEqual(restarted[0], killed[0], 'a new gateway process');

  // Ctrl-C stops the demo: the script, the gateway and both simulated CADs.
  assert.equal(inGroup('bluelink-cad-sim --agency').length, 2, 'both simulated CADs run');
  const exited = new Promise((r) => run.once('exit', (code) => r(code)));
  process.kill(-run.pid, 'SIGINT');
  const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r('timeout'), 20_000))]);
  assert.equal(code, 0, `./tools/run after Ctrl-C: ${code}\n${output.slice(-2000)}`);
  assert.deepEqual(inGroup('bluelink-gateway|bluelink-cad-sim'), [], 'no gateway or simulated CAD is left running');
});
