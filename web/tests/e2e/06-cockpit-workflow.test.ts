// The trader's workflow of the plan, by hand, against a real `vspread demo`:
// select a scanned spread -> its panel with the legs' greeks and the payoff
// chart -> Preview shows the what-if and the risk gate's verdict -> Place,
// confirmed (mode, quantity, limit, max loss) -> the order followed to its
// fill -> the position in Positions -> its charts -> Close, confirmed.
// Screenshots of the new panels at 1280x800 and 390 px; axe-core and a Tab
// walk on each.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Page } from 'playwright-core';
import { apiGet, openBrowser, seriousViolations, signIn, tabStops, type Browser } from './harness';

const demo = inject('demo');
let browser: Browser;
let page: Page;

interface Row {
  underlying: string;
  kind: string;
  expiry: string;
  long_strike: number;
  short_strike: number;
  price: number;
  max_profit: number;
  max_loss: number;
  score: number;
}
interface Latest {
  scans: { underlying: string; results: Row[] }[];
}
interface Preview {
  mode: string;
  multiplier: number;
  gate: { passed: boolean; refusals: { rule: string }[] };
}
interface Order {
  order_ref: string;
  purpose: string;
  outcome: string | null;
  filled: string;
  steps: { step: number; price: string }[];
  fills: { exec_id: string }[];
}
interface Positions {
  positions: { entry_ref: string }[];
}

async function api<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: T; etag: string | null }> {
  const r = await fetch(`${demo.url}/api/v1${path}`, {
    method,
    headers: { Authorization: `Bearer ${demo.token}`, 'Content-Type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: r.status, body: (await r.json()) as T, etag: r.headers.get('etag') };
}

function ticket(r: Row): object {
  return { symbol: r.underlying, kind: r.kind, expiry: r.expiry, long_strike: String(r.long_strike), short_strike: String(r.short_strike), quantity: 1, limit: null };
}

/** The best-scored scanned spread (of each underlying's top five) whose preview the risk gate passes now. */
async function passingSpread(): Promise<Row | null> {
  const latest = await apiGet<Latest>(demo, '/scans/latest');
  const rows = latest.scans.flatMap((s) => [...s.results].sort((a, b) => b.score - a.score).slice(0, 5)).sort((a, b) => b.score - a.score);
  for (const r of rows) {
    const p = await api<Preview>('POST', '/preview', ticket(r));
    if (p.status === 200 && p.body.gate.passed) return r;
  }
  return null;
}

/** Raises trading.max_positions through the config API (the bot may already hold its five). */
async function roomForOneMore(): Promise<void> {
  const current = await api<{ trading: { max_positions: number } }>('GET', '/config');
  const config = current.body;
  config.trading.max_positions = Math.max(config.trading.max_positions, 20);
  const put = await api<unknown>('PUT', '/config', config, { 'If-Match': current.etag ?? '' });
  expect(put.status, JSON.stringify(put.body)).toBeLessThan(300);
}

const label = (r: Row): string => `Open ${r.underlying} ${r.kind.replace(/_/gu, ' ')} ${r.expiry} ${r.long_strike}/${r.short_strike}`;
const money = /^[+-]?[\d,]+\.\d\d$/u;

beforeAll(async () => {
  browser = await openBrowser();
  page = browser.page;
  await signIn(page, demo);
});

afterAll(async () => {
  await browser?.close();
});

async function go(path: string): Promise<void> {
  await page.locator(`nav a[href="${path}"]`).click();
  await expect.poll(() => new URL(page.url()).pathname).toBe(path);
}

async function expectAxeClean(where: string): Promise<void> {
  expect(await seriousViolations(page), where).toEqual([]);
}

let orderRef = '';

describe('the trader workflow against vspread demo', () => {
  it('opens a scanned spread: legs with greeks, net greeks, the payoff chart; Preview shows the what-if and the gate', { timeout: 240_000 }, async () => {
    let row: Row | null = null;
    await expect
      .poll(
        async () => {
          row = await passingSpread();
          if (row === null) await roomForOneMore();
          return row !== null;
        },
        { timeout: 180_000, interval: 2000 },
      )
      .toBe(true);
    const r = row as unknown as Row;

    await go('/scanner');
    await page.locator('[data-testid=scan-underlying]').selectOption(r.underlying);
    await page.getByRole('button', { name: label(r), exact: true }).click({ timeout: 15_000 });
    const panel = page.locator('[data-testid=spread-panel]');
    await panel.waitFor();
    // The chart is drawn from the row at once: the expiry line, the breakeven, max profit and loss labelled.
    await panel.locator('[data-testid=payoff-expiry]').waitFor();
    expect(await panel.locator('[data-testid=payoff-breakeven]').count()).toBe(1);
    await panel.locator('[data-testid=payoff-max-profit]').waitFor();
    // The preview behind it brings the legs (long, then short) with their greeks, the net greeks, the today curve and the price now.
    await expect.poll(() => panel.locator('[data-testid=spread-leg]').count(), { timeout: 30_000 }).toBe(2);
    expect(await panel.locator('[data-testid=spread-leg]').evaluateAll((els) => els.map((e) => e.getAttribute('data-role')))).toEqual(['long', 'short']);
    const firstLeg = await panel.locator('[data-testid=spread-leg]').first().locator('td').allTextContents();
    expect(firstLeg[2]).toBe(String(r.long_strike));
    for (const greek of firstLeg.slice(6)) expect(greek).toMatch(/^-?\d+(\.\d+)?%?$/u);
    await panel.locator('[data-testid=spread-net-greeks]').waitFor();
    await panel.locator('[data-testid=payoff-today]').waitFor();
    // (A vertical line has no width: attached, not "visible", to the driver.)
    await panel.locator('[data-testid=payoff-spot]').waitFor({ state: 'attached' });
    expect(await panel.locator('[data-testid=spread-underlying]').textContent()).toMatch(/^\d+\.\d\d$/u);
    // Then priced at the preview's quotes: the chart's labels are the panel's figures, the breakeven marked where the preview says.
    await expect.poll(() => panel.locator('[data-testid=spread-source]').textContent()).toMatch(/^Quotes of the engine's preview at /u);
    const maxProfit = (await panel.locator('[data-testid=spread-max-profit]').textContent()) ?? '';
    const maxLoss = (await panel.locator('[data-testid=spread-max-loss]').textContent()) ?? '';
    expect(maxProfit).toMatch(money);
    expect(await panel.locator('[data-testid=payoff-max-profit]').textContent()).toBe(`max profit ${maxProfit}`);
    expect(await panel.locator('[data-testid=payoff-max-loss]').textContent()).toBe(`max loss ${maxLoss}`);
    const breakeven = Number((await panel.locator('[data-testid=spread-breakeven]').textContent()) ?? '');
    expect(await panel.locator('[data-testid=payoff-svg] text', { hasText: 'B/E' }).textContent()).toBe(`B/E ${breakeven.toFixed(2)}`);

    // Preview: the what-if card and the gate's verdict, for a walk to the natural in two steps
    // (the simulator fills a limit at the natural at once; between the mid and it, by chance).
    await panel.locator('[data-testid=spread-slippage]').fill('100');
    await panel.locator('[data-testid=spread-steps]').fill('2');
    await panel.locator('[data-testid=spread-preview]').click();
    const whatIf = panel.locator('[data-testid=what-if]');
    await whatIf.waitFor({ timeout: 30_000 });
    expect(await whatIf.locator('[data-testid=what-if-margin]').textContent()).toMatch(money);
    expect(await whatIf.locator('[data-testid=what-if-bp-after]').textContent()).toMatch(money);
    expect(await whatIf.locator('[data-testid=what-if-commission]').textContent()).toMatch(/^\d+\.\d\d USD$/u);
    expect(await panel.locator('[data-testid=gate-passed]').textContent()).toBe('passes');
    expect(await panel.locator('[data-testid=gate-refusal]').count()).toBe(0);
    expect(await panel.locator('[data-testid=gate-verdict]').textContent()).toMatch(/Walk: \d+\.\d+ → \d+\.\d+ → \d+\.\d+ \((debit|credit)\)/u);
    await browser.shot('spread-panel-preview-1280x800');
    await expectAxeClean('spread panel 1280');

    // Every control of the panel reached by Tab, with a visible focus and a name.
    const { stops, missed } = await tabStops(page);
    for (const name of ['Close the spread panel', 'Quantity', 'Preview', 'Place…']) expect(stops.map((s) => s.name)).toContain(name);
    expect(stops.filter((s) => !s.focusVisible).map((s) => s.what)).toEqual([]);
    expect(stops.filter((s) => s.name === '').map((s) => s.what)).toEqual([]);
    expect(missed).toEqual([]);

    await page.setViewportSize({ width: 390, height: 844 });
    try {
      await panel.scrollIntoViewIfNeeded();
      await browser.shot('spread-panel-preview-390');
      await expectAxeClean('spread panel 390');
    } finally {
      await page.setViewportSize({ width: 1280, height: 800 });
    }
  });

  it('places the spread after a confirmation naming the mode, quantity, limit and max loss, and follows the order to its fill', { timeout: 240_000 }, async () => {
    const panel = page.locator('[data-testid=spread-panel]');
    await panel.locator('[data-testid=spread-place]').click();
    const dialog = page.locator('dialog[open]');
    await dialog.waitFor({ timeout: 30_000 });
    const text = (await dialog.locator('[data-testid=confirm-place]').textContent()) ?? '';
    const status = await apiGet<{ mode: string }>(demo, '/status');
    expect(text).toContain(`On the ${status.mode} account`);
    expect(text).toMatch(/open 1 × /u);
    expect(text).toMatch(/limit starting at \d+\.\d+ (debit|credit)/u);
    expect(text).toMatch(/maximum loss -[\d,]+\.\d\d/u);
    await browser.shot('spread-confirm-place-1280x800');
    await expectAxeClean('place dialog');
    await dialog.getByRole('button', { name: 'Place order' }).click();

    const follow = panel.locator('[data-testid=order-follow]');
    await follow.waitFor({ timeout: 30_000 });
    orderRef = ((await follow.locator('h3 code').textContent()) ?? '').trim();
    expect(orderRef).toMatch(/^vs-[0-9a-f]{16}-m0$/u);
    // Followed live: its walk's steps, then its fill and the end.
    await follow.locator('[data-testid=order-step]').first().waitFor({ timeout: 30_000 });
    await expect.poll(async () => follow.locator('[data-testid=order-follow-status]').textContent(), { timeout: 180_000, interval: 500 }).toBe('filled');
    expect(await follow.locator('[data-testid=order-follow-filled]').textContent()).toBe('1');
    expect(await follow.locator('[data-testid=order-fill]').count()).toBeGreaterThan(0);
    expect(await follow.locator('[data-testid=order-slippage]').textContent()).toMatch(/Slippage vs mid -?\d+(\.\d+)?: -?\d+(\.\d+)? per share/u);
    // As the journal has it.
    const orders = await apiGet<{ orders: Order[] }>(demo, '/orders');
    const order = orders.orders.find((o) => o.order_ref === orderRef);
    expect(order?.purpose).toBe('manual');
    expect(order?.outcome).toBe('filled');
    expect(await follow.locator('[data-testid=order-step]').count()).toBe(order?.steps.length);
    await browser.shot('spread-order-filled-1280x800');
  });

  it('shows the walk, fills and slippage in Orders', async () => {
    await go('/orders');
    const row = page.locator(`[data-testid=order-row][data-ref="${orderRef}"]`);
    await row.waitFor();
    expect(await row.locator('[data-testid=order-filled]').textContent()).toBe('1');
    expect(await row.locator('[data-testid=order-step]').count()).toBeGreaterThan(0);
    expect(await row.locator('[data-testid=order-fill]').count()).toBeGreaterThan(0);
    expect(await row.locator('[data-testid=order-slippage-cell]').textContent()).toMatch(/-?\d+\.\d{3}/u);
  });

  it('holds the position, with its legs, risk figures and charts', { timeout: 180_000 }, async () => {
    await go('/positions');
    const row = page.locator(`[data-testid=position-row][data-ref="${orderRef}"]`);
    await row.waitFor({ timeout: 60_000 });
    const legs = (await row.locator('[data-testid=position-legs]').textContent()) ?? '';
    expect(legs).toMatch(/long [\d.]+ (call|put)/u);
    expect(legs).toMatch(/short [\d.]+ (call|put)/u);
    expect(await row.locator('[data-testid=position-max]').textContent()).toMatch(/\+[\d,]+\.\d\d \/ -[\d,]+\.\d\d/u);
    expect(await row.locator('[data-testid=position-breakeven]').textContent()).toMatch(/^\d+(\.\d+)?$/u);

    await row.locator('[data-testid=position-chart-toggle]').click();
    const chart = page.locator('[data-testid=position-chart]');
    await chart.locator('[data-testid=underlying-svg]').waitFor({ timeout: 60_000 });
    expect(await chart.locator('[data-testid=candle]').count()).toBeGreaterThan(10);
    // (Horizontal lines: counted, as they have no height. The last price is drawn once the spread has been marked.)
    for (const level of ['entry', 'stop']) expect(await chart.locator(`[data-testid=level-${level}]`).count(), level).toBe(1);
    expect(await chart.locator('[data-testid=level-strike]').count()).toBe(2);
    // Mark and P&L since entry: a line once the page has sampled a cycle after the entry.
    await chart.locator('[data-testid=mark-path]').waitFor({ state: 'attached', timeout: 90_000 });
    expect(((await chart.locator('[data-testid=mark-path]').getAttribute('d')) ?? '').split('L').length).toBeGreaterThanOrEqual(2);
    await browser.shot('position-chart-1280x800');
    await expectAxeClean('position chart 1280');
    await page.setViewportSize({ width: 390, height: 844 });
    try {
      await browser.shot('position-chart-390');
      await expectAxeClean('position chart 390');
    } finally {
      await page.setViewportSize({ width: 1280, height: 800 });
    }
  });

  it('closes the position after a confirmation', { timeout: 240_000 }, async () => {
    const row = page.locator(`[data-testid=position-row][data-ref="${orderRef}"]`);
    await row.locator('[data-testid=position-close]').click();
    const dialog = page.locator('dialog[open]');
    await dialog.waitFor();
    const status = await apiGet<{ mode: string }>(demo, '/status');
    expect(await dialog.locator('[data-testid=confirm-close]').textContent()).toMatch(new RegExp(`On the ${status.mode} account: close all 1 × `, 'u'));
    await expectAxeClean('close dialog');
    // Walked all the way to the natural, where the close is marketable: the
    // configured walk stops at 60 % of the way, where a fill is only likely.
    await dialog.locator('[data-testid=close-slippage]').fill('100');
    await dialog.getByRole('button', { name: 'Close spread' }).click();
    await expect.poll(() => page.locator('[data-testid=close-message]').textContent()).toMatch(/^Closing .* order vs-[0-9a-f]{16}-x\d+/u);
    const walked = /walking up to ([\d.]+) \(natural ([\d.]+)\)/u.exec((await page.locator('[data-testid=close-message]').textContent()) ?? '');
    expect(Number(walked?.[1])).toBe(Number(walked?.[2]));
    // Walked out: the spread leaves the positions, in the API and on the page.
    await expect.poll(async () => (await apiGet<Positions>(demo, '/positions')).positions.some((p) => p.entry_ref === orderRef), { timeout: 180_000, interval: 1000 }).toBe(false);
    await expect.poll(() => row.count(), { timeout: 10_000 }).toBe(0);
  });

  it("shows the risk gate's use on the Dashboard, as the status has it", async () => {
    await go('/');
    const panel = page.locator('[data-testid=risk-use]');
    await panel.waitFor();
    await expect
      .poll(async () => {
        const s = await apiGet<{ risk: { open_positions: number; max_positions: number; daily_loss: string; max_daily_loss: number } }>(demo, '/status');
        return (
          (await panel.locator('[data-testid=risk-positions]').textContent()) === `${s.risk.open_positions} of ${s.risk.max_positions}` &&
          ((await panel.locator('[data-testid=risk-daily-loss]').textContent()) ?? '').startsWith(`${Number(s.risk.daily_loss).toFixed(2)} of ${s.risk.max_daily_loss.toFixed(2)}`)
        );
      })
      .toBe(true);
    await expectAxeClean('risk panel');
  });

  it('says which keys each config backup changed', async () => {
    const backups = await apiGet<{ id: string; changes: { path: string }[] | null }[]>(demo, '/config/backups');
    const changed = backups.filter((b) => (b.changes ?? []).length > 0);
    // The config workflow and this file's max_positions change saved some.
    expect(changed.length).toBeGreaterThan(0);
    await go('/config');
    for (const b of changed.slice(0, 5)) {
      const cell = page.locator(`[data-backup="${b.id}"] [data-testid=backup-changes]`);
      await cell.waitFor();
      const text = (await cell.textContent()) ?? '';
      for (const c of b.changes ?? []) expect(text).toContain(c.path);
    }
  });

  it('had no script errors in the browser', () => {
    expect(browser.errors).toEqual([]);
  });
});
