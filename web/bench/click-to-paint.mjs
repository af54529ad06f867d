// Click-to-paint of the Scanner's spread panel: a real `vspread demo` and
// Debian's chromium (playwright-core), a scanned row opened N times. The
// app marks `vspread:spread-click` in the row's click handler; the panel,
// once in the DOM with its payoff chart, waits for the next frame and a
// task after it and measures `vspread:spread-paint` (performance marks +
// requestAnimationFrame). Also timed: click to the "today" curve (drawn
// once the engine's preview brings the legs' IV), polled per frame.
//
//   node bench/click-to-paint.mjs [--runs 30] [--bin PATH]
//
// The binary: --bin, else $VSPREAD_BIN, else the newest debug/release
// vspread in $CARGO_TARGET_DIR (or ../target). Prints median and p95 (ms).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : fallback;
};
const RUNS = Number(opt('runs', '30'));
if (!Number.isInteger(RUNS) || RUNS < 1) throw new Error(`--runs must be a whole number >= 1 (got ${opt('runs', '')})`);

function binary() {
  const explicit = opt('bin', process.env.VSPREAD_BIN);
  if (explicit) {
    if (!existsSync(explicit)) throw new Error(`${explicit} does not exist`);
    return explicit;
  }
  const target = process.env.CARGO_TARGET_DIR ?? resolve(here, '../../target');
  const found = ['debug', 'release']
    .map((p) => join(target, p, 'vspread'))
    .filter((p) => existsSync(p))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  if (!found[0]) throw new Error(`no vspread in ${target}/{debug,release}: cargo build -p vspread, or --bin PATH`);
  return found[0];
}

function quantile(sorted, q) {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i];
}

function summary(name, xs) {
  const s = [...xs].sort((a, b) => a - b);
  return `${name}: median ${quantile(s, 0.5).toFixed(1)} ms, p95 ${quantile(s, 0.95).toFixed(1)} ms, min ${s[0].toFixed(1)}, max ${s[s.length - 1].toFixed(1)} (n=${s.length})`;
}

const dataDir = mkdtempSync(join(tmpdir(), 'vspread-bench-'));
const demo = spawn(binary(), ['demo', '--data-dir', dataDir, '--listen', '127.0.0.1:0'], { cwd: dataDir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
let browser;
try {
  let output = '';
  const url = await new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`no admin server in 60 s:\n${output}`)), 60_000);
    const read = (chunk) => {
      output += chunk.toString();
      const m = /admin server ready.*?(http:\/\/[\d.]+:\d+)/u.exec(output);
      if (m) {
        clearTimeout(timer);
        ok(m[1]);
      }
    };
    demo.stdout.on('data', read);
    demo.stderr.on('data', read);
    demo.on('exit', (code) => fail(new Error(`the demo exited (${code}):\n${output}`)));
  });
  const token = readFileSync(join(dataDir, 'admin.token'), 'utf8').trim();
  const profile = mkdtempSync(join(tmpdir(), 'vspread-bench-chromium-'));
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1280, height: 800 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'],
  });
  const page = browser.pages()[0] ?? (await browser.newPage());
  await page.goto(url);
  await page.fill('#token', token);
  await page.click('button[type=submit]');
  await page.locator('[data-testid=status-bar]').waitFor();
  await page.locator('nav a[href="/scanner"]').click();
  console.log('waiting for the first scan…');
  await page.locator('[data-testid=scan-open]').first().waitFor({ timeout: 180_000 });

  const paint = [];
  const today = [];
  for (let i = 0; i < RUNS; i += 1) {
    if ((await page.locator('[data-testid=spread-panel]').count()) > 0) {
      await page.getByRole('button', { name: 'Close the spread panel' }).click();
      await page.locator('[data-testid=spread-panel]').waitFor({ state: 'detached' });
    }
    await page.evaluate(() => performance.clearMeasures('vspread:spread-paint'));
    await page.locator('[data-testid=scan-open]').nth(i % 3).click();
    const ms = await page.evaluate(
      () =>
        new Promise((ok) => {
          const look = () => {
            const m = performance.getEntriesByName('vspread:spread-paint', 'measure')[0];
            if (m) ok(m.duration);
            else requestAnimationFrame(look);
          };
          look();
        }),
    );
    paint.push(ms);
    const withToday = await page.evaluate(
      () =>
        new Promise((ok) => {
          const m = performance.getEntriesByName('vspread:spread-paint', 'measure')[0];
          const start = m ? m.startTime : performance.now();
          const look = () => {
            if (document.querySelector('[data-testid=payoff-today]')) ok(performance.now() - start);
            else requestAnimationFrame(look);
          };
          look();
        }),
    );
    today.push(withToday);
  }
  console.log(summary('click to the panel and payoff chart painted', paint));
  console.log(summary("click to the today curve (after the engine's preview)", today));
  rmSync(profile, { recursive: true, force: true });
} finally {
  await browser?.close();
  demo.kill('SIGTERM');
  await new Promise((ok) => {
    if (demo.exitCode !== null) ok();
    else demo.once('exit', ok);
    setTimeout(ok, 10_000);
  });
  rmSync(dataDir, { recursive: true, force: true });
}
