// What a new user missed in the views, against a real `vspread demo`: the
// Dashboard's equity chart with only open positions (open P&L over time,
// with axes), the events list filtered by kind and text (kept in the URL),
// the Scanner's explanation of POP, EV and score, config fields labelled in
// words with their key, unit and how they take effect, every time saying
// whose clock and zone it is, Orders' starting limit, and the phone header
// (compact, its navigation fading where it scrolls).
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Page } from 'playwright-core';
import { apiGet, openBrowser, signIn, type Browser } from './harness';

const demo = inject('demo');
let browser: Browser;
let page: Page;

interface Positions {
  positions: { entry_ref: string }[];
  unrealised: string;
}
interface Orders {
  orders: { order_ref: string; created_at: string; purpose: string }[];
}

/** New York wall time of an instant as the UI shows engine times: "MM-DD HH:MM". */
function newYork(iso: string): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', { timeZone: 'America/New_York', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })
      .formatToParts(new Date(iso))
      .map((p) => [p.type, p.value]),
  );
  return `${parts.month}-${parts.day} ${parts.hour}:${parts.minute}`;
}

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

describe('the cockpit views against vspread demo', () => {
  it('draws open P&L over time on the Dashboard, with money and time axes', { timeout: 240_000 }, async () => {
    // The demo holds a spread within a few minutes of its start.
    await expect.poll(async () => (await apiGet<Positions>(demo, '/positions')).positions.length, { timeout: 200_000, interval: 1000 }).toBeGreaterThan(0);
    await go('/');
    const chart = page.locator('[data-testid=pnl-chart]');
    const svg = chart.locator('[data-testid=equity-svg]');
    await svg.waitFor();
    // A line once two decision cycles have been sampled (a cycle every simulated minute).
    await chart.locator('[data-testid=equity-path]').waitFor({ timeout: 60_000 });
    expect(await chart.locator('[data-testid=pnl-empty]').count()).toBe(0);
    const text = (await svg.textContent()) ?? '';
    expect(text).toContain('P&L (USD)');
    expect(text).toContain('engine clock, New York time (ET)');
    const xTicks = await svg.locator('[data-testid=x-tick]').allTextContents();
    expect(xTicks.length).toBeGreaterThanOrEqual(2);
    for (const t of xTicks) expect(t).toMatch(/^(\d\d-\d\d )?\d\d:\d\d$/u);
    expect(await svg.getAttribute('aria-label')).toMatch(/realised plus open [+-]?[\d,]+\.\d\d at \d\d-\d\d \d\d:\d\d ET/u);
    expect(await chart.textContent()).toMatch(/[1-9]\d* spreads? held/u);
    // The path spans the chart: more than one point, not a lone segment at the right edge.
    const d = (await chart.locator('[data-testid=equity-path]').getAttribute('d')) ?? '';
    expect(d.split('L').length).toBeGreaterThanOrEqual(2);
    await browser.shot('dashboard-open-pnl-1280x800');
  });

  it('filters the events by kind and text, keeps the filter in the URL, and leaves signal.none out by default', async () => {
    await go('/');
    const rows = page.locator('[data-testid=event-row]');
    await rows.first().waitFor();
    const kindsShown = async (): Promise<string[]> => (await rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-kind') ?? ''))).filter((k) => k !== '');
    // Default: no signal.none, though the demo has plenty.
    const events = await apiGet<{ kind: string; data: unknown }[]>(demo, '/events?limit=1000');
    expect(events.some((e) => e.kind === 'signal.none')).toBe(true);
    expect(await kindsShown()).not.toContain('signal.none');

    // Everything: signal.none is there.
    await page.locator('[data-testid=events-kind]').selectOption('all');
    await expect.poll(() => new URL(page.url()).search).toBe('?kind=all');
    await expect.poll(kindsShown).toContain('signal.none');

    // One family.
    await page.locator('[data-testid=events-kind]').selectOption('order');
    await expect.poll(() => new URL(page.url()).searchParams.get('kind')).toBe('order');
    await expect.poll(async () => (await kindsShown()).length).toBeGreaterThan(0);
    for (const k of await kindsShown()) expect(k).toMatch(/^order\./u);

    // And text: one order's reference.
    const orders = await apiGet<Orders>(demo, '/orders');
    const ref = orders.orders[orders.orders.length - 1]!.order_ref;
    await page.locator('[data-testid=events-text]').fill(ref);
    await expect.poll(() => new URL(page.url()).searchParams.get('q')).toBe(ref);
    await expect.poll(async () => (await rows.allTextContents()).length).toBeGreaterThan(0);
    for (const row of await rows.allTextContents()) expect(row).toMatch(/^\d+/u);
    expect((await rows.allTextContents()).every((r) => r.includes(ref) || r.includes('order.'))).toBe(true);
    await browser.shot('dashboard-events-filtered-1280x800');

    // A reload (or a shared link) opens the same filter.
    const url = page.url();
    await page.goto(url);
    await page.locator('[data-testid=events]').waitFor();
    expect(await page.locator('[data-testid=events-kind]').inputValue()).toBe('order');
    expect(await page.locator('[data-testid=events-text]').inputValue()).toBe(ref);
    await expect.poll(async () => (await kindsShown()).length).toBeGreaterThan(0);
    for (const k of await kindsShown()) expect(k).toMatch(/^order\./u);

    // A filter nothing matches says so; Clear filter goes back to the default.
    await page.locator('[data-testid=events-text]').fill('no-such-thing-anywhere');
    await page.locator('[data-testid=events-none]').waitFor();
    await page.locator('[data-testid=events] button', { hasText: 'Clear filter' }).click();
    await expect.poll(() => new URL(page.url()).search).toBe('');
    await expect.poll(async () => (await kindsShown()).length).toBeGreaterThan(0);
    expect(await kindsShown()).not.toContain('signal.none');
  });

  it('says whose clock and zone every time is: engine times in New York (ET), wall times in the browser zone', async () => {
    // Orders: the engine's clock, in New York time, to the minute of the API's instant.
    await go('/orders');
    const orders = await apiGet<Orders>(demo, '/orders?status=done');
    const order = orders.orders[0]!;
    const created = page.locator(`[data-ref="${order.order_ref}"] td[data-label=Created] time`).first();
    await created.waitFor();
    expect(await created.getAttribute('data-clock')).toBe('engine');
    expect(new Date((await created.getAttribute('datetime')) ?? '').getTime()).toBe(new Date(order.created_at).getTime());
    expect(await created.textContent()).toBe(`${newYork(order.created_at)} ET`);
    expect(await created.getAttribute('title')).toContain('Engine clock');

    // Every time on every view names its zone and says whose clock it is.
    for (const path of ['/', '/scanner', '/positions', '/orders', '/config']) {
      await go(path);
      if (path === '/config') await page.locator('[data-testid=backups] time').first().waitFor();
      const times = await page.locator('time').evaluateAll((els) =>
        els.map((e) => ({ clock: e.getAttribute('data-clock'), zone: e.querySelector('.zone')?.textContent?.trim() ?? '', title: e.getAttribute('title') ?? '' })),
      );
      expect(times.length, path).toBeGreaterThan(0);
      for (const t of times) {
        expect(t.title, path).toMatch(/clock/u);
        if (t.clock === 'engine') expect(t.zone, path).toBe('ET');
        else expect(t.zone, path).toMatch(/^(UTC|GMT|[A-Z]{2,5})/u);
      }
    }
    // Backups are wall-clock times.
    const backup = page.locator('[data-testid=backups] time').first();
    expect(await backup.getAttribute('data-clock')).toBe('wall');
    expect(await backup.getAttribute('title')).toContain('Wall clock');
    // The status bar's last reload is a wall-clock time too.
    expect(await page.locator('[data-testid=status-reload-at] time').getAttribute('data-clock')).toBe('wall');
  });

  it("explains the Scanner's POP, EV and score, and shows each scan's age", async () => {
    await go('/scanner');
    const explain = page.locator('[data-testid=scan-explain]');
    await explain.waitFor();
    const text = ((await explain.textContent()) ?? '').replace(/\s+/gu, ' ');
    expect(text).toContain("market's own implied distribution");
    expect(text).toContain('expected value is about zero');
    expect(text).toContain('a ranking among spreads, not a forecast');
    expect(text).toContain("signal's direction");
    for (const col of ['pop', 'ev', 'score']) expect(await page.locator(`th:has([data-col=${col}])`).getAttribute('title')).toBeTruthy();
    await expect.poll(() => page.locator('[data-testid=scan-age]').count(), { timeout: 60_000 }).toBeGreaterThan(0);
    expect(await page.locator('[data-testid=scan-age]').first().textContent()).toMatch(/scanned \d\d-\d\d \d\d:\d\d ET \((\d+ s|\d+ min|[\d.]+ h|\d+ d) ago\)/u);
    await browser.shot('scanner-explained-1280x800');
  });

  it('labels config fields in words, with the key path, the unit and how a change takes effect', async () => {
    await go('/config');
    await page.locator('[role=tab][href="/config/exits"]').click();
    const stop = page.locator('[data-path="exits.stop_loss_atr_mult"]');
    await stop.waitFor();
    expect(await stop.locator('label').textContent()).toBe('Stop loss ATR multiplier');
    expect(await stop.locator('[data-testid=field-key]').textContent()).toBe('exits.stop_loss_atr_mult');
    expect(await stop.locator('[data-testid=field-unit]').textContent()).toBe('ATR');
    expect(await stop.locator('[data-testid=field-apply]').getAttribute('data-apply')).toBe('live');
    expect(await stop.textContent()).toContain('Close when the underlying moves this many ATRs against the position from entry.');
    // The input's accessible name is the label.
    expect(await page.getByLabel('Stop loss ATR multiplier', { exact: true }).inputValue()).toBe(await stop.locator('input').inputValue());
    await browser.shot('config-labels-1280x800');

    await page.locator('[role=tab][href="/config/trading"]').click();
    const mode = page.locator('[data-path="trading.mode"]');
    expect(await mode.locator('[data-testid=field-apply]').getAttribute('data-apply')).toBe('restart');
    expect(await page.locator('[data-path="trading.scan_interval_s"] label').textContent()).toBe('Scan interval');
    expect(await page.locator('[data-path="trading.scan_interval_s"] [data-testid=field-unit]').textContent()).toBe('s');
    await page.locator('[role=tab][href="/config/system"]').click();
    expect(await page.locator('[data-path="ibkr.port"] [data-testid=field-apply]').getAttribute('data-apply')).toBe('reconnect');
  });

  it("labels Orders' limit as the starting limit of a walk", async () => {
    await go('/orders');
    const table = page.locator('[data-testid=orders-done]');
    await table.waitFor();
    const headers = await table.locator('thead th').allTextContents();
    expect(headers).toContain('Starting limit');
    expect(headers).not.toContain('Limit');
    expect(await table.locator('[data-testid=order-start-limit]').first().getAttribute('title')).toContain('walks');
    expect(await page.locator('[data-testid=orders-legend]').textContent()).toContain('not a breach');
  });

  it('on a phone: a compact header whose navigation fades where it scrolls', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    try {
      await go('/');
      const nav = page.locator('[data-testid=nav]');
      const header = page.locator('header');
      await expect.poll(async () => (await header.boundingBox())?.height ?? 999).toBeLessThanOrEqual(110);
      const geometry = () => nav.evaluate((el) => ({ scroll: el.scrollWidth, client: el.clientWidth, left: el.scrollLeft }));
      const g = await geometry();
      expect(g.scroll, 'the navigation is wider than the phone').toBeGreaterThan(g.client);
      // At the start: the far edge fades, the near one does not.
      await expect.poll(() => nav.getAttribute('data-more-end')).toBe('');
      expect(await nav.getAttribute('data-more-start')).toBeNull();
      expect(await nav.evaluate((el) => getComputedStyle(el).maskImage)).toContain('linear-gradient');
      await browser.shot('header-390');
      // Scrolled to the end: the other way round.
      await nav.evaluate((el) => (el.scrollLeft = el.scrollWidth));
      await expect.poll(() => nav.getAttribute('data-more-start')).toBe('');
      expect(await nav.getAttribute('data-more-end')).toBeNull();
      // The current view is scrolled into sight when chosen.
      await nav.evaluate((el) => (el.scrollLeft = 0));
      await page.locator('nav a[href="/config"]').click();
      await expect.poll(() =>
        page.locator('nav a[aria-current=page]').evaluate((a) => {
          const r = a.getBoundingClientRect();
          const n = a.parentElement!.getBoundingClientRect();
          return r.left >= n.left - 1 && r.right <= n.right + 1;
        }),
      ).toBe(true);
      // The status line is one line that scrolls sideways, not four lines.
      const bar = page.locator('[data-testid=status-bar]');
      expect((await bar.boundingBox())?.height ?? 999).toBeLessThanOrEqual(32);
      expect(await bar.getAttribute('tabindex')).toBe('0');
    } finally {
      await page.setViewportSize({ width: 1280, height: 800 });
    }
  });

  it('had no script errors in the browser', () => {
    expect(browser.errors).toEqual([]);
  });
});
