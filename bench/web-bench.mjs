// The web UI's and admin API's speed, against a running `vspread demo`:
//   1. API latency (p50/p99/max) of GET /api/v1/status and /positions at a
//      fixed 500 requests/s (open loop: latency counts from the moment each
//      request was due, so a slow answer cannot hide the queue behind it);
//   2. WebSocket delivery latency: each event's publish time (its `at`, on
//      the engine's clock, mapped to wall time through GET /status `now`)
//      to its arrival at a client of /api/v1/ws (events made by pause and
//      resume calls, and whatever the engine publishes meanwhile);
//   3. the JS bundle size, gzipped;
//   4. UI interaction time in Debian's chromium: a click (view switch,
//      config tab, scanner sort) to the next paint, median and p95.
// Needs: VSPREAD_URL, VSPREAD_TOKEN, VSPREAD_SPEED (the demo's --speed),
// WEB_DIST (a built bundle). Run by bench/web.sh.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

const require = createRequire(new URL('../web/package.json', import.meta.url));
const { chromium } = require('playwright-core');

const url = process.env.VSPREAD_URL;
const token = process.env.VSPREAD_TOKEN;
const speed = Number(process.env.VSPREAD_SPEED ?? '60');
const dist = process.env.WEB_DIST;
const RATE = Number(process.env.BENCH_RATE ?? '500');
const SECONDS = Number(process.env.BENCH_SECONDS ?? '10');
if (!url || !token || !dist) throw new Error('set VSPREAD_URL, VSPREAD_TOKEN and WEB_DIST');

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
const { hostname, port } = new URL(url);

function get(path) {
  return new Promise((ok, fail) => {
    const req = http.request({ hostname, port, path, agent, headers: { authorization: `Bearer ${token}` } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => ok({ status: res.statusCode, body: Buffer.concat(chunks) }));
    });
    req.on('error', fail);
    req.end();
  });
}

function quantile(sorted, q) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}
const f = (v) => v.toFixed(2);

async function load(path) {
  const total = RATE * SECONDS;
  const interval = 1000 / RATE;
  const latencies = [];
  const statuses = new Map();
  let sent = 0;
  const start = performance.now() + 20;
  const inflight = [];
  await new Promise((done) => {
    const tick = () => {
      const now = performance.now();
      while (sent < total && start + sent * interval <= now) {
        const due = start + sent * interval;
        sent += 1;
        inflight.push(
          get(path).then(
            (r) => {
              latencies.push(performance.now() - due);
              statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
            },
            () => statuses.set('error', (statuses.get('error') ?? 0) + 1),
          ),
        );
      }
      if (sent < total) setTimeout(tick, 0);
      else done();
    };
    tick();
  });
  await Promise.all(inflight);
  const elapsed = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  return { path, total, achieved: total / elapsed, statuses: Object.fromEntries(statuses), p50: quantile(latencies, 0.5), p99: quantile(latencies, 0.99), max: latencies[latencies.length - 1] };
}

/** Wall ms = (engine ms - c) / speed: c from the /status sample with the shortest round trip. */
async function engineClock() {
  let best = null;
  for (let i = 0; i < 40; i += 1) {
    const t0 = wallNow();
    const r = await get('/api/v1/status');
    const rtt = wallNow() - t0;
    const mid = t0 + rtt / 2;
    const iso = JSON.parse(r.body.toString()).now;
    const now = Date.parse(iso) + nanosOf(iso);
    if (best === null || rtt < best.rtt) best = { rtt, c: now - speed * mid };
  }
  return { toWall: (engineMs) => (engineMs - best.c) / speed, uncertainty: best.rtt / 2 };
}

/** Wall-clock ms with sub-ms resolution (Date.now() has whole ms). */
function wallNow() {
  return performance.timeOrigin + performance.now();
}

/** The sub-millisecond part of an RFC 3339 time, in ms (Date.parse drops it). */
function nanosOf(iso) {
  const m = /\.(\d+)/u.exec(iso);
  if (!m) return 0;
  const digits = (m[1] + '000000000').slice(0, 9);
  return (Number(digits) % 1_000_000) / 1_000_000;
}

async function websocketLatency(pairs = 100) {
  const clock = await engineClock();
  const ws = new WebSocket(`${url.replace(/^http/u, 'ws')}/api/v1/ws?access_token=${token}`);
  const delays = [];
  ws.onmessage = (m) => {
    const received = wallNow();
    const e = JSON.parse(m.data);
    if (typeof e.at !== 'string') return;
    const published = clock.toWall(Date.parse(e.at) + nanosOf(e.at));
    delays.push(received - published);
  };
  await new Promise((ok, fail) => {
    ws.onopen = ok;
    ws.onerror = fail;
  });
  for (let i = 0; i < pairs; i += 1) {
    await post('/api/v1/control/pause');
    await post('/api/v1/control/resume');
  }
  await new Promise((ok) => setTimeout(ok, 500));
  ws.close();
  delays.sort((a, b) => a - b);
  return { events: delays.length, median: quantile(delays, 0.5), p99: quantile(delays, 0.99), uncertainty: clock.uncertainty };
}

function post(path) {
  return new Promise((ok, fail) => {
    const req = http.request({ method: 'POST', hostname, port, path, agent, headers: { authorization: `Bearer ${token}`, 'content-length': 0 } }, (res) => {
      res.resume();
      res.on('end', () => ok(res.statusCode));
    });
    req.on('error', fail);
    req.end();
  });
}

function bundle() {
  const files = [];
  const walk = (dir) => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else files.push(p);
    }
  };
  walk(dist);
  const size = (ext) => {
    const chosen = files.filter((p) => p.endsWith(ext));
    return { raw: chosen.reduce((n, p) => n + statSync(p).size, 0), gzip: chosen.reduce((n, p) => n + gzipSync(readFileSync(p), { level: 9 }).length, 0) };
  };
  return { js: size('.js'), css: size('.css'), html: size('.html') };
}

async function interactions(rounds = 30) {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(url);
  await page.fill('#token', token);
  await page.click('button[type=submit]');
  await page.locator('[data-testid=status-bar]').waitFor();
  // A click, then the frame after it has painted: rAF runs before the paint, a task queued from it after.
  const clickToPaint = (selector) =>
    page.evaluate(async (sel) => {
      const el = document.querySelector(sel);
      if (!el) throw new Error(`no ${sel}`);
      performance.mark('bench:click');
      const t0 = performance.now();
      el.click();
      await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
      const ms = performance.now() - t0;
      performance.measure('bench:click-to-paint', 'bench:click');
      return ms;
    }, selector);
  const results = {};
  const measure = async (name, selectors) => {
    const times = [];
    for (let i = 0; i < rounds; i += 1) for (const s of selectors) times.push(await clickToPaint(s));
    times.sort((a, b) => a - b);
    results[name] = { n: times.length, median: quantile(times, 0.5), p95: quantile(times, 0.95) };
  };
  await measure('view switch (nav: Dashboard <-> Scanner <-> Positions <-> Orders <-> Configuration)', ['nav a[href="/scanner"]', 'nav a[href="/positions"]', 'nav a[href="/orders"]', 'nav a[href="/config"]', 'nav a[href="/"]']);
  await page.click('nav a[href="/config"]');
  await page.locator('[data-path="trading.mode"]').waitFor();
  await measure('config tab switch (Trading -> Exits -> System)', ['a[href="/config/exits"]', 'a[href="/config/system"]', 'a[href="/config/trading"]']);
  await page.click('nav a[href="/scanner"]');
  await page.locator('[data-testid=scan-row]').first().waitFor({ timeout: 120_000 });
  const rows = await page.locator('[data-testid=scan-count]').textContent();
  await measure(`scanner sort click (${rows})`, ['[data-col=pop]', '[data-col=score]', '[data-col=expiry]']);
  await browser.close();
  return results;
}

const out = [];
for (const path of ['/api/v1/status', '/api/v1/positions']) {
  const r = await load(path);
  out.push(`API ${r.path}: ${r.total} requests at ${f(r.achieved)}/s, statuses ${JSON.stringify(r.statuses)}: p50 ${f(r.p50)} ms, p99 ${f(r.p99)} ms, max ${f(r.max)} ms`);
  console.log(out[out.length - 1]);
}
const ws = await websocketLatency();
out.push(`WebSocket delivery (publish -> client): ${ws.events} events, median ${f(ws.median)} ms, p99 ${f(ws.p99)} ms (clock mapping uncertainty +-${f(ws.uncertainty)} ms)`);
console.log(out[out.length - 1]);
const b = bundle();
out.push(`bundle: JS ${(b.js.raw / 1024).toFixed(1)} KiB, gzipped ${(b.js.gzip / 1024).toFixed(1)} KiB; CSS gzipped ${(b.css.gzip / 1024).toFixed(1)} KiB; index.html gzipped ${(b.html.gzip / 1024).toFixed(1)} KiB`);
console.log(out[out.length - 1]);
for (const [name, r] of Object.entries(await interactions())) {
  out.push(`UI ${name}: ${r.n} clicks, click -> next paint median ${f(r.median)} ms, p95 ${f(r.p95)} ms`);
  console.log(out[out.length - 1]);
}
agent.destroy();
