// The views of what the engine sees and does, with live data from a real
// `vspread demo` (it scans every simulated minute and fills its first spread
// within about two minutes): Scanner (sortable, virtually scrolled, the
// funnel), Positions (P&L, stop and target, DTE), Orders, the Dashboard's
// P&L chart; each view at 1280x800 and on a 390 px wide phone screen, with
// no sideways scrolling of the page.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Page } from 'playwright-core';
import { apiGet, openBrowser, signIn, type Browser } from './harness';

const demo = inject('demo');
let browser: Browser;
let page: Page;

interface Positions {
  positions: { entry_ref: string; dte: number; stop_underlying: number; unrealised_pnl: string | null }[];
}

beforeAll(async () => {
  browser = await openBrowser();
  page = browser.page;
  await signIn(page, demo);
});

afterAll(async () => {
  await browser?.close();
});

async function go(label: string): Promise<void> {
  await page.click(`nav >> text=${label}`);
}

/** The numbers of one column of the scanner's rendered rows. */
async function column(index: number): Promise<number[]> {
  const cells = await page.locator(`[data-testid=scan-row] td:nth-child(${index})`).allTextContents();
  return cells.map((c) => Number.parseFloat(c));
}

describe('live views against vspread demo', () => {
  it('cancels a working order from the Orders view after confirming', { timeout: 300_000 }, async () => {
    await go('Orders');
    // The demo's entry orders work for a few seconds each while their limit
    // is walked; the view learns of one from the event stream. A cancel that
    // races the order's own end (409) is told, and the next order is tried.
    let cancelled: string | null = null;
    for (let attempt = 0; attempt < 5 && cancelled === null; attempt += 1) {
      const button = page.locator('[data-testid=orders-working] [data-testid=order-row] button', { hasText: 'Cancel' }).first();
      await button.waitFor({ timeout: 240_000 });
      const ref = await button.locator('xpath=ancestor::tr').getAttribute('data-ref');
      await button.click();
      const dialog = page.locator('dialog[open]');
      await dialog.waitFor();
      expect(await dialog.textContent()).toContain(ref ?? '');
      await dialog.locator('button', { hasText: 'Cancel order' }).click();
      const note = page.locator('.note[role=status]');
      await note.waitFor();
      if ((await note.textContent())?.includes('Cancel requested')) cancelled = ref;
    }
    expect(cancelled).not.toBeNull();
    await expect
      .poll(async () => (await apiGet<{ orders: { order_ref: string; outcome: string | null }[] }>(demo, '/orders?status=done')).orders.find((o) => o.order_ref === cancelled)?.outcome, { timeout: 30_000 })
      .toMatch(/cancel/iu);
    await expect.poll(() => page.locator(`[data-testid=orders-done] [data-ref="${cancelled}"]`).count()).toBe(1);
    const events = await apiGet<{ kind: string; data: unknown }[]>(demo, '/events?limit=1000');
    expect(events.some((e) => e.kind === 'order.cancel_requested' && JSON.stringify(e.data).includes(cancelled!))).toBe(true);
  });

  it('shows the latest scans: rows, sorting by a column, virtual scrolling, the funnel', async () => {
    await go('Scanner');
    const rows = page.locator('[data-testid=scan-row]');
    await expect.poll(() => rows.count(), { timeout: 90_000, interval: 500 }).toBeGreaterThan(0);
    const api = await apiGet<{ scans: { results: unknown[] }[] }>(demo, '/scans/latest');
    const total = api.scans.reduce((n, s) => n + s.results.length, 0);
    expect(total).toBeGreaterThan(0);
    const count = Number.parseInt((await page.locator('[data-testid=scan-count]').textContent()) ?? '', 10);
    // The view's count follows the live scans (a new scan may land between the two reads).
    expect(count).toBeGreaterThan(0);
    // Only the rows in view are in the DOM.
    const rendered = await rows.count();
    if (count > 60) expect(rendered).toBeLessThan(count);

    // Sorted by score, descending, at first; POP sorts descending then ascending.
    const score = await column(15);
    expect(score).toEqual([...score].sort((a, b) => b - a));
    await page.click('[data-col=pop]');
    await expect.poll(() => page.locator('th[aria-sort=descending] [data-col=pop]').count()).toBe(1);
    const popDesc = await column(13);
    expect(popDesc).toEqual([...popDesc].sort((a, b) => b - a));
    await page.click('[data-col=pop]');
    await expect.poll(() => page.locator('th[aria-sort=ascending] [data-col=pop]').count()).toBe(1);
    const popAsc = await column(13);
    expect(popAsc).toEqual([...popAsc].sort((a, b) => a - b));

    // Scrolling to the bottom renders the last rows (the window moves).
    if (count > 60) {
      const firstBefore = await rows.first().textContent();
      await page.locator('[data-testid=scan-scroll]').evaluate((el) => (el.scrollTop = el.scrollHeight));
      await expect.poll(() => rows.first().textContent()).not.toBe(firstBefore);
    }
    await page.locator('[data-testid=scan-scroll]').evaluate((el) => (el.scrollTop = 0));

    const funnel = page.locator('[data-testid=funnel]');
    expect(await funnel.textContent()).toContain('candidates');
    expect(await funnel.textContent()).toContain('kept');
    await browser.shot('scanner-1280x800');
  });

  it('shows the open positions with P&L, the stop and target levels and DTE', async () => {
    await go('Positions');
    const row = page.locator('[data-testid=position-row]').first();
    // The demo fills its first spread within about two minutes of its start.
    await row.waitFor({ timeout: 180_000 });
    const api = await apiGet<Positions>(demo, '/positions');
    const p = api.positions[0];
    expect(p).toBeDefined();
    const mine = page.locator(`[data-testid=position-row][data-ref="${p!.entry_ref}"]`);
    expect(await mine.count()).toBe(1);
    const text = (await mine.textContent()) ?? '';
    expect(text).toContain(String(p!.dte));
    expect(await mine.locator('[data-testid=position-stop]').textContent()).toContain(p!.stop_underlying.toFixed(2));
    expect(await page.locator('[data-testid=positions-unrealised]').textContent()).toMatch(/^[+-]?[\d,]+\.\d\d$/u);
    await browser.shot('positions-1280x800');
  });

  it('shows the orders, working and done', async () => {
    await go('Orders');
    const done = page.locator('[data-testid=orders-done] [data-testid=order-row]');
    await expect.poll(() => done.count(), { timeout: 60_000 }).toBeGreaterThan(0);
    const api = await apiGet<{ orders: { order_ref: string; working: boolean; outcome: string | null }[] }>(demo, '/orders?status=done');
    const first = api.orders[0]!;
    await expect.poll(() => page.locator(`[data-testid=orders-done] [data-ref="${first.order_ref}"]`).count()).toBe(1);
    expect(await page.locator(`[data-ref="${first.order_ref}"]`).textContent()).toContain(first.outcome ?? '');
    // No Cancel button on an order that has ended.
    expect(await page.locator('[data-testid=orders-done] button').count()).toBe(0);
    await browser.shot('orders-1280x800');
  });

  it('draws the equity chart on the Dashboard', async () => {
    await go('Dashboard');
    const chart = page.locator('[data-testid=pnl-chart]');
    await chart.waitFor();
    // Something is held, so the curve has at least its open part.
    await expect.poll(() => chart.locator('svg').count()).toBeGreaterThan(0);
    expect(await page.locator('[data-testid=equity-total]').textContent()).toMatch(/^[+-]?[\d,]+\.\d\d$/u);
    await browser.shot('dashboard-1280x800');
  });

  it('works on a 390 px wide screen: every view without sideways page scrolling', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    const views: [string, string][] = [
      ['Dashboard', 'dashboard'],
      ['Scanner', 'scanner'],
      ['Positions', 'positions'],
      ['Orders', 'orders'],
      ['Configuration', 'config'],
    ];
    for (const [label, name] of views) {
      await go(label);
      await page.waitForTimeout(300);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow, `${label} scrolls sideways by ${overflow}px`).toBeLessThanOrEqual(1);
      expect(await page.locator('[data-testid=status-bar]').isVisible()).toBe(true);
      await browser.shot(`${name}-390`);
    }
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  it('had no script errors in the browser', () => {
    // A cancel that raced the order's own end is answered 409 (shown to the operator); anything else is a bug.
    expect(browser.errors.filter((e) => !/status of 409/u.test(e))).toEqual([]);
  });
});
