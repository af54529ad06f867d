// What the browser tests run against: a real `vspread demo` process (the
// whole stack on the simulated gateway, admin API and embedded UI) in a
// fresh data directory on a port the OS picks, and Debian's chromium driven
// by playwright-core with a fresh profile.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(here, '../../..');
export const screenshotDir = resolve(here, '../../test-results/screenshots');

/** The vspread binary: $VSPREAD_BIN, else the newest of debug/ and release/ in the target dir. */
export function vspreadBinary(): string {
  const explicit = process.env.VSPREAD_BIN;
  if (explicit) {
    if (!existsSync(explicit)) throw new Error(`VSPREAD_BIN=${explicit} does not exist`);
    return explicit;
  }
  const target = process.env.CARGO_TARGET_DIR ?? join(repoRoot, 'target');
  const found = ['debug', 'release']
    .map((p) => join(target, p, 'vspread'))
    .filter((p) => existsSync(p))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  if (found[0] === undefined) throw new Error(`no vspread binary in ${target}/{debug,release}: run \`cargo build -p vspread\` (or set VSPREAD_BIN)`);
  return found[0];
}

/** A running demo, as the tests see it (serialisable: it is handed from the global setup to the test files). */
export interface Demo {
  url: string;
  token: string;
  dataDir: string;
  configPath: string;
  pid: number;
}

export interface RunningDemo extends Demo {
  /** What the process printed so far (stderr and stdout). */
  output(): string;
  stop(): Promise<void>;
}

/**
 * Starts `vspread demo` in a fresh data dir and waits for its admin server.
 * The simulated market trades around the clock (`--always-open`): the suite
 * runs for six or more real minutes, six market hours at the demo's 60x, so
 * on a loaded machine its last orders (a spread closed by hand) would
 * otherwise meet the 16:00 New York close and never fill.
 */
export async function startDemo(): Promise<RunningDemo> {
  const dataDir = mkdtempSync(join(tmpdir(), 'vspread-e2e-'));
  const child: ChildProcess = spawn(vspreadBinary(), ['demo', '--data-dir', dataDir, '--listen', '127.0.0.1:0', '--always-open'], {
    cwd: dataDir,
    env: { ...process.env, VSPREAD_LOG: 'info', NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const url = await new Promise<string>((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`the demo's admin server did not start in 60 s:\n${output}`)), 60_000);
    const read = (chunk: Buffer): void => {
      output += chunk.toString();
      if (output.length > 2_000_000) output = output.slice(-1_000_000);
      const m = /admin server ready.*?(http:\/\/[\d.]+:\d+)/u.exec(output);
      if (m?.[1]) {
        clearTimeout(timer);
        ok(m[1]);
      }
    };
    child.stdout?.on('data', read);
    child.stderr?.on('data', read);
    child.on('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`the demo exited (${code}) before its admin server was ready:\n${output}`));
    });
  });
  const token = readFileSync(join(dataDir, 'admin.token'), 'utf8').trim();
  return {
    url,
    token,
    dataDir,
    configPath: join(dataDir, 'config.toml'),
    pid: child.pid ?? -1,
    output: () => output,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((ok) => child.once('exit', ok));
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((ok) => setTimeout(ok, 10_000))]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
      // VSPREAD_E2E_KEEP=1 keeps the data dir (journal, config, backups) and the demo's output for a look after a failure.
      if (process.env.VSPREAD_E2E_KEEP) {
        writeFileSync(join(dataDir, 'demo.log'), output);
        console.log(`kept the demo's data dir ${dataDir}`);
      } else {
        rmSync(dataDir, { recursive: true, force: true });
      }
    },
  };
}

/** `GET /api/v1{path}` with the demo's token: the JSON body (fails the test on a non-200). */
export async function apiGet<T = unknown>(demo: Demo, path: string): Promise<T> {
  const r = await fetch(`${demo.url}/api/v1${path}`, { headers: { Authorization: `Bearer ${demo.token}` } });
  if (r.status !== 200) throw new Error(`GET ${path}: HTTP ${r.status} ${await r.text()}`);
  return (await r.json()) as T;
}

/** `POST /api/v1{path}` with the demo's token and `body` as JSON (none when undefined); fails the test on a non-200. */
export async function apiPost(demo: Demo, path: string, body?: unknown): Promise<void> {
  const r = await fetch(`${demo.url}/api/v1${path}`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${demo.token}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (r.status !== 200) throw new Error(`POST ${path}: HTTP ${r.status} ${await r.text()}`);
}

export interface Browser {
  context: BrowserContext;
  page: Page;
  /** Browser-side errors seen so far (uncaught exceptions, console errors). */
  errors: string[];
  /** A full-page screenshot in the screenshot directory; returns its path. */
  shot(name: string): Promise<string>;
  close(): Promise<void>;
}

/** Debian's chromium, headless, with a fresh profile; never a downloaded browser. */
export async function openBrowser(width = 1280, height = 800): Promise<Browser> {
  const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';
  if (!existsSync(executablePath)) throw new Error(`no chromium at ${executablePath}: apt-get install -y chromium`);
  const profile = mkdtempSync(join(tmpdir(), 'vspread-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    viewport: { width, height },
    colorScheme: 'dark',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  mkdirSync(screenshotDir, { recursive: true });
  return {
    context,
    page,
    errors,
    async shot(name: string) {
      const path = join(screenshotDir, `${name}.png`);
      await page.screenshot({ path, fullPage: true });
      console.log(`screenshot: ${path}`);
      return path;
    },
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Signs the page in with `token` (the token prompt, as a person would). */
export async function signIn(page: Page, demo: Demo): Promise<void> {
  await page.goto(demo.url);
  await page.locator('#token').waitFor();
  await page.fill('#token', demo.token);
  await page.click('button[type=submit]');
  await page.locator('[data-testid=status-bar]').waitFor();
}

/** One rule that axe-core found broken, with the elements that break it. */
export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  targets: string[];
}

/** axe-core's source, evaluated in the page through the driver (the admin UI's CSP rightly refuses inline scripts). */
let axeSource: string | null = null;

/**
 * Runs axe-core (WCAG 2.x A and AA, and its best practices) on the page as
 * it is now, open dialogs included, and returns the violations whose impact
 * is serious or critical.
 */
export async function seriousViolations(page: Page): Promise<AxeViolation[]> {
  if (!(await page.evaluate(() => 'axe' in window))) {
    axeSource ??= readFileSync(resolve(here, '../../node_modules/axe-core/axe.min.js'), 'utf8');
    await page.evaluate(axeSource);
  }
  return page.evaluate(async () => {
    interface Result {
      violations: { id: string; impact: string | null; help: string; nodes: { target: string[] }[] }[];
    }
    const axe = (window as unknown as { axe: { run(ctx: Document, options: unknown): Promise<Result> } }).axe;
    const result = await axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] },
      resultTypes: ['violations'],
    });
    return result.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => ({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map((n) => n.target.join(' ')) }));
  });
}

/** What Tab reaches, in order: each element's description, accessible name and whether its focus is visible. */
export interface Stop {
  what: string;
  name: string;
  focusVisible: boolean;
}

export interface TabWalk {
  stops: Stop[];
  /** Controls on the page (enabled, rendered) that Tab never reached. */
  missed: string[];
}

const CONTROLS = 'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

/**
 * Marks every control on the page, presses Tab from the top until focus
 * comes back round (at most `limit` times), describes each element reached,
 * and lists the marked controls still on the page that it never reached (a
 * live list may add rows meanwhile: those are not counted).
 */
export async function tabStops(page: Page, limit = 400): Promise<TabWalk> {
  await page.evaluate((selector) => {
    document.querySelectorAll<HTMLElement>(selector).forEach((el, i) => (el.dataset.tabMark = String(i)));
    (document.activeElement as HTMLElement | null)?.blur();
    window.scrollTo(0, 0);
  }, CONTROLS);
  const stops: Stop[] = [];
  const reached = new Set<string>();
  for (let i = 0; i < limit; i += 1) {
    await page.keyboard.press('Tab');
    const stop = await page.evaluate(() => {
      const el = document.activeElement as HTMLElement | null;
      if (!el || el === document.body) return null;
      const labelled = (el.getAttribute('aria-labelledby') ?? '')
        .split(/\s+/u)
        .map((id) => document.getElementById(id)?.textContent ?? '')
        .join(' ')
        .trim();
      const labels = 'labels' in el && el.labels ? [...(el.labels as NodeListOf<HTMLLabelElement>)].map((l) => l.textContent ?? '').join(' ') : '';
      const name = (el.getAttribute('aria-label') ?? '').trim() || labelled || labels.trim() || (el.textContent ?? '').trim() || (el.getAttribute('title') ?? '');
      const style = getComputedStyle(el);
      const outline = style.outlineStyle !== 'none' && Number.parseFloat(style.outlineWidth) >= 1;
      const shadow = style.boxShadow !== 'none' && style.boxShadow !== '';
      return {
        // A control that appeared after the marking (a live event row) is
        // marked when first reached, so two alike are not taken for one.
        mark: el.dataset.tabMark ?? (el.dataset.tabMark = `new:${document.querySelectorAll('[data-tab-mark^="new:"]').length}`),
        what: `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}${el.getAttribute('data-col') ? `[data-col=${el.getAttribute('data-col')}]` : ''} "${(el.textContent ?? '').trim().slice(0, 30)}"`,
        name: name.replace(/\s+/gu, ' ').trim(),
        focusVisible: el.matches(':focus-visible') && (outline || shadow),
      };
    });
    if (stop === null) continue;
    if (reached.has(stop.mark)) break;
    reached.add(stop.mark);
    stops.push({ what: stop.what, name: stop.name, focusVisible: stop.focusVisible });
  }
  const missed = await page.evaluate(
    ({ selector, reached }) =>
      [...document.querySelectorAll<HTMLElement>(selector)]
        .filter((el) => el.dataset.tabMark !== undefined && !reached.includes(el.dataset.tabMark))
        .filter((el) => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden' && el.closest('[inert]') === null)
        .map((el) => `${el.tagName.toLowerCase()} "${(el.textContent ?? '').trim().slice(0, 30)}"`),
    { selector: CONTROLS, reached: [...reached] },
  );
  return { stops, missed };
}
