// The long run's load and its figures, against a running `vspread demo`
// (bench/long_run.sh starts one):
//   - 500 requests/s (open loop: latency counts from the moment a request
//     was due) of mixed reads over the admin API, for the whole run;
//   - 20 WebSocket clients of /api/v1/ws that read every event, checking
//     each one's sequence numbers have no gap, plus one client that
//     upgrades and then never reads (it must be cut off, not hold memory);
//   - the process's RSS, sampled every few seconds;
//   - the journal's size at every simulated midnight.
// Prints the API p50/p99/max and errors, events each client received and
// any it missed, the RSS series with its growth after warm-up, and the
// journal's growth per simulated day.
// Needs: VSPREAD_URL, VSPREAD_TOKEN, VSPREAD_PID, VSPREAD_DATA (the data
// dir), LONG_SECONDS (how long to load it). Node 20+ with
// --experimental-websocket.
import { readFileSync, statSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { join } from 'node:path';

const url = process.env.VSPREAD_URL;
const token = process.env.VSPREAD_TOKEN;
const pid = process.env.VSPREAD_PID;
const data = process.env.VSPREAD_DATA;
const SECONDS = Number(process.env.LONG_SECONDS ?? '60');
const RATE = Number(process.env.LONG_RATE ?? '500');
const CLIENTS = Number(process.env.LONG_CLIENTS ?? '20');
const SAMPLE_MS = Number(process.env.LONG_SAMPLE_MS ?? '5000');
if (!url || !token || !pid || !data) throw new Error('set VSPREAD_URL, VSPREAD_TOKEN, VSPREAD_PID and VSPREAD_DATA');

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
const { hostname, port } = new URL(url);

// The mix of reads: what the UI and a monitoring stack ask for.
const READS = [
  ['/api/v1/status', 4],
  ['/api/v1/positions', 3],
  ['/api/v1/orders?status=working', 2],
  ['/api/v1/orders', 1],
  ['/api/v1/scans/latest', 2],
  ['/api/v1/events?limit=50', 2],
  ['/api/v1/trades', 1],
  ['/api/v1/config', 1],
  ['/api/v1/decisions?limit=20', 1],
  ['/readyz', 1],
  ['/healthz', 1],
  ['/metrics', 1],
];
const MIX = READS.flatMap(([path, weight]) => Array(weight).fill(path));

function get(path, method = 'GET') {
  return new Promise((ok, fail) => {
    const req = http.request({ hostname, port, path, method, agent, headers: { authorization: `Bearer ${token}` } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => ok({ status: res.statusCode, body: Buffer.concat(chunks) }));
    });
    req.setTimeout(30_000, () => req.destroy(new Error('timeout')));
    req.on('error', fail);
    req.end();
  });
}

const quantile = (sorted, q) => (sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]);
const mb = (bytes) => (bytes / 1024 / 1024).toFixed(1);

// The process's resident memory: in all (VmRSS), and split into the
// anonymous part (heap, stacks: what the process holds) and the part
// backed by files (the binary's code as it is paged in on first use,
// clean and shared with the page cache).
function memory() {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (name) => {
    const m = new RegExp(`${name}:\\s+(\\d+) kB`, 'u').exec(status);
    return m ? Number(m[1]) * 1024 : NaN;
  };
  return { rss: kib('VmRSS'), anon: kib('RssAnon'), file: kib('RssFile') };
}

function journalBytes() {
  let n = 0;
  for (const f of ['journal.sqlite3', 'journal.sqlite3-wal']) {
    try {
      n += statSync(join(data, f)).size;
    } catch {
      // not there (yet)
    }
  }
  return n;
}

// ---------------------------------------------------------------- API load

async function load(until) {
  const interval = 1000 / RATE;
  const latencies = [];
  const byPath = new Map();
  const statuses = new Map();
  // Answers by path, and the first body of each non-200 answer, to say why.
  const pathStatuses = new Map();
  const samples = new Map();
  let sent = 0;
  const start = performance.now() + 20;
  const inflight = new Set();
  await new Promise((done) => {
    const tick = () => {
      const now = performance.now();
      while (start + sent * interval <= now && now < until) {
        const due = start + sent * interval;
        const path = MIX[sent % MIX.length];
        sent += 1;
        const p = get(path).then(
          (r) => {
            const ms = performance.now() - due;
            latencies.push(ms);
            if (!byPath.has(path)) byPath.set(path, []);
            byPath.get(path).push(ms);
            statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
            if (!pathStatuses.has(path)) pathStatuses.set(path, new Map());
            const ps = pathStatuses.get(path);
            ps.set(r.status, (ps.get(r.status) ?? 0) + 1);
            const key = `${path} ${r.status}`;
            if (r.status !== 200 && !samples.has(key)) samples.set(key, r.body.toString().slice(0, 300));
          },
          (e) => statuses.set(`error (${e.message})`, (statuses.get(`error (${e.message})`) ?? 0) + 1),
        );
        inflight.add(p);
        p.finally(() => inflight.delete(p));
      }
      if (performance.now() < until) setTimeout(tick, 1);
      else done();
    };
    tick();
  });
  await Promise.all([...inflight]);
  const elapsed = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  const paths = {};
  for (const [path, ls] of byPath) {
    ls.sort((a, b) => a - b);
    paths[path] = {
      n: ls.length,
      p50: quantile(ls, 0.5),
      p99: quantile(ls, 0.99),
      statuses: Object.fromEntries(pathStatuses.get(path) ?? []),
    };
  }
  return { sent, achieved: sent / elapsed, statuses: Object.fromEntries(statuses), p50: quantile(latencies, 0.5), p99: quantile(latencies, 0.99), max: latencies[latencies.length - 1], paths, samples: Object.fromEntries(samples) };
}

// -------------------------------------------------------------- WebSockets

/** A single-use ticket for the event stream (the token stays out of URLs). */
async function ticket() {
  const r = await get('/api/v1/ws/ticket', 'POST');
  if (r.status !== 200) throw new Error(`POST /api/v1/ws/ticket: ${r.status} ${r.body.toString().slice(0, 200)}`);
  return JSON.parse(r.body.toString()).ticket;
}

/** A client that reads everything and checks the sequence has no gap. */
function follower(i) {
  const c = { i, first: null, last: null, received: 0, gaps: 0, missed: 0, notes: [], closes: 0, reconnects: 0, open: false };
  const connect = async () => {
    const after = c.last === null ? '' : `&after=${c.last}`;
    let t;
    try {
      t = await ticket();
    } catch (e) {
      c.notes.push(`no ticket: ${e.message}`);
      if (!c.stopping) setTimeout(connect, 200);
      return;
    }
    const ws = new WebSocket(`${url.replace(/^http/u, 'ws')}/api/v1/ws?ticket=${t}${after}`);
    c.ws = ws;
    ws.onopen = () => {
      c.open = true;
    };
    ws.onmessage = (m) => {
      const e = JSON.parse(m.data);
      if (typeof e.seq !== 'number') {
        c.notes.push(e.kind);
        return;
      }
      if (c.first === null) c.first = e.seq;
      if (c.last !== null && e.seq !== c.last + 1) {
        c.gaps += 1;
        c.missed += e.seq - c.last - 1;
      }
      c.last = e.seq;
      c.received += 1;
    };
    ws.onclose = () => {
      c.open = false;
      c.closes += 1;
      if (!c.stopping) {
        // Cut off or dropped: come back where it left off.
        c.reconnects += 1;
        setTimeout(connect, 200);
      }
    };
  };
  connect();
  return c;
}

/** A client that upgrades and never reads again. */
async function silent() {
  const s = { cut: false, upgraded: false };
  const t = await ticket();
  const sock = net.connect({ host: hostname, port: Number(port) }, () => {
    sock.write(
      `GET /api/v1/ws?ticket=${t} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
    // Read the upgrade answer, then stop reading for good.
    sock.once('data', (d) => {
      s.upgraded = d.toString().startsWith('HTTP/1.1 101');
      sock.pause();
    });
  });
  sock.on('close', () => {
    s.cut = true;
  });
  sock.on('error', () => {
    s.cut = true;
  });
  s.sock = sock;
  return s;
}

// -------------------------------------------------------------------- main

const status = async () => JSON.parse((await get('/api/v1/status')).body.toString());
const lastSeq = async () => {
  const events = JSON.parse((await get('/api/v1/events?limit=1')).body.toString());
  return events.length ? events[events.length - 1].seq : 0;
};

const followers = Array.from({ length: CLIENTS }, (_, i) => follower(i));
const stalled = await silent();
await new Promise((ok) => setTimeout(ok, 1000));

const t0 = performance.now();
const until = t0 + SECONDS * 1000;
const samples = [];
const days = [];
let lastDay = null;
const sampler = setInterval(async () => {
  const s = await status().catch(() => null);
  const at = s?.now ?? null;
  samples.push({ t: (performance.now() - t0) / 1000, ...memory(), journal: journalBytes(), at });
  const day = at ? at.slice(0, 10) : null;
  if (day && day !== lastDay) {
    days.push({ day, journal: journalBytes(), t: (performance.now() - t0) / 1000 });
    lastDay = day;
  }
}, SAMPLE_MS);
const loaded = await load(until);
clearInterval(sampler);

// Let the stream settle, then see what every client has.
await new Promise((ok) => setTimeout(ok, 2000));
const newest = await lastSeq();
await new Promise((ok) => setTimeout(ok, 1000));
for (const c of followers) {
  c.stopping = true;
  c.ws?.close();
}
stalled.sock.destroy();
const metrics = (await get('/metrics')).body.toString();
const metric = (name) => metrics.split('\n').filter((l) => l.startsWith(name)).join('; ');

// ------------------------------------------------------------------ report

const f = (v) => v.toFixed(2);
console.log(`API: ${loaded.sent} requests over ${SECONDS} s at ${f(loaded.achieved)}/s (target ${RATE}): p50 ${f(loaded.p50)} ms, p99 ${f(loaded.p99)} ms, max ${f(loaded.max)} ms; answers ${JSON.stringify(loaded.statuses)}`);
for (const [path, p] of Object.entries(loaded.paths))
  console.log(`  ${path}: n ${p.n}, p50 ${f(p.p50)} ms, p99 ${f(p.p99)} ms; answers ${JSON.stringify(p.statuses)}`);
for (const [key, body] of Object.entries(loaded.samples)) console.log(`  first ${key}: ${body}`);
// /readyz answering 503 is readiness doing its job (the gateway in its
// restart window, the disk low), not an error of the API; counted apart.
const notReady = loaded.paths['/readyz']?.statuses?.['503'] ?? 0;
const errors =
  Object.entries(loaded.statuses)
    .filter(([k]) => k !== '200')
    .reduce((n, [, v]) => n + v, 0) - notReady;
console.log(`API errors (not 200, /readyz 503 apart): ${errors}; /readyz not ready: ${notReady}`);

let lost = 0;
for (const c of followers) {
  const behind = newest - (c.last ?? 0);
  lost += c.missed + Math.max(0, behind);
  if (c.missed || behind > 0 || c.reconnects) {
    console.log(`  client ${c.i}: ${c.received} events ${c.first}..${c.last}, ${c.gaps} gaps (${c.missed} missed), ${Math.max(0, behind)} behind the newest ${newest}, reconnects ${c.reconnects}, notes ${JSON.stringify(c.notes)}`);
  }
}
const received = followers.map((c) => c.received);
console.log(`WebSocket: ${CLIENTS} clients, events received per client min ${Math.min(...received)} max ${Math.max(...received)} (newest seq ${newest}); events lost across all clients: ${lost}`);
// The silent client does not read, so it may not see its own close: the
// server's count says whether it was cut off.
console.log(`WebSocket: the client that never read: ${stalled.upgraded ? 'upgraded' : 'NOT upgraded'}, ${stalled.cut ? 'connection closed' : 'connection not seen closed'}; server's cut-offs: ${metric('vspread_websocket_cut_off_total') || 'none counted'}`);

const warm = samples.find((s) => s.t >= SECONDS * 0.1) ?? samples[0];
const tail = samples.slice(-Math.max(1, Math.floor(samples.length / 10)));
const end = tail.reduce((n, s) => n + s.rss, 0) / tail.length;
const peak = Math.max(...samples.map((s) => s.rss));
console.log(`RSS: warm-up (${f(warm.t)} s) ${mb(warm.rss)} MB, peak ${mb(peak)} MB, last tenth mean ${mb(end)} MB: growth after warm-up ${f((100 * (end - warm.rss)) / warm.rss)} %`);
const step = Math.max(1, Math.floor(samples.length / 12));
console.log(`RSS series (s: MB): ${samples.filter((_, i) => i % step === 0).map((s) => `${s.t.toFixed(0)}: ${mb(s.rss)}`).join(', ')}`);
for (const part of ['anon', 'file']) {
  const endPart = tail.reduce((n, s) => n + s[part], 0) / tail.length;
  console.log(`RSS ${part === 'anon' ? 'anonymous (heap, stacks)' : 'file-backed (code paged in)'}: warm-up ${mb(warm[part])} MB, last tenth mean ${mb(endPart)} MB: ${f((100 * (endPart - warm[part])) / warm[part])} %; series ${samples.filter((_, i) => i % step === 0).map((s) => mb(s[part])).join(', ')}`);
}

if (days.length >= 2) {
  const growth = [];
  for (let i = 1; i < days.length; i += 1) growth.push(days[i].journal - days[i - 1].journal);
  const sorted = [...growth].sort((a, b) => a - b);
  console.log(`journal: ${days.length - 1} simulated days from ${days[0].day} to ${days[days.length - 1].day}: ${mb(days[0].journal)} MB -> ${mb(days[days.length - 1].journal)} MB; per simulated day median ${(quantile(sorted, 0.5) / 1024).toFixed(0)} KiB, max ${(sorted[sorted.length - 1] / 1024).toFixed(0)} KiB, mean ${(growth.reduce((a, b) => a + b, 0) / growth.length / 1024).toFixed(0)} KiB`);
}
console.log(`long run: p99 ${f(loaded.p99)} ms, ${errors} API errors, ${lost} events lost over ${CLIENTS} clients, RSS growth ${f((100 * (end - warm.rss)) / warm.rss)} % after warm-up`);
process.exit(0);
