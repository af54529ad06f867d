// The cockpit's panels against a real `vspread demo`: the Dashboard's KPIs
// against the plan's targets, as the engine computes them from the journal
// (`/kpis`), for the period chosen; axe-core clean with the panel filled.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Page } from 'playwright-core';
import { apiGet, openBrowser, seriousViolations, signIn, type Browser } from './harness';

const demo = inject('demo');
let browser: Browser;
let page: Page;

interface Target {
  kpi: string;
  value: number | null;
  unit: string;
  met: boolean | null;
}
interface Kpis {
  orders: { all: { ended: number; filled: number } };
  trades: { closed: number };
  targets: Target[];
}

beforeAll(async () => {
  browser = await openBrowser();
  page = browser.page;
  await signIn(page, demo);
});

afterAll(async () => {
  await browser?.close();
});

/** A target's figure as the panel writes it. */
function shown(t: Target): string {
  if (t.value === null) return '—';
  return `${t.value.toFixed(t.unit === 's' ? 2 : t.kpi === 'fill_rate' ? 1 : 3)} ${t.unit}`;
}
function verdict(t: Target): string {
  return t.met === null ? 'nothing measured' : t.met ? '✓ met' : '✗ missed';
}

/** The panel's targets, as text, once they equal the API's (the demo trades on: polled). */
async function panelMatches(query: string): Promise<void> {
  await expect
    .poll(
      async () => {
        const k = await apiGet<Kpis>(demo, `/kpis${query}`);
        const rows = await Promise.all(
          k.targets.map(async (t) => {
            const row = page.locator(`[data-testid=target-${t.kpi}]`);
            return {
              kpi: t.kpi,
              value: (await row.locator('[data-testid=target-value]').textContent()) === shown(t),
              verdict: (await row.locator('[data-testid=target-verdict]').textContent()) === verdict(t),
            };
          }),
        );
        const closed = (await page.locator('[data-testid=kpi-closed]').textContent()) === String(k.trades.closed);
        return { rows, closed };
      },
      { timeout: 30_000, interval: 250 },
    )
    .toEqual({
      rows: ['fill_rate', 'slippage', 'signal_to_order'].map((kpi) => ({ kpi, value: true, verdict: true })),
      closed: true,
    });
}

describe('the Dashboard against vspread demo', () => {
  it('shows the KPIs against their targets, as the journal has them, for the period chosen', { timeout: 240_000 }, async () => {
    // A fill rate is measured once an order has ended (filled or timed out): within a minute of the demo's start.
    await expect.poll(async () => (await apiGet<Kpis>(demo, '/kpis')).orders.all.ended, { timeout: 200_000, interval: 1000 }).toBeGreaterThan(0);
    await page.locator('nav a[href="/"]').click();
    const panel = page.locator('[data-testid=kpis]');
    await panel.locator('[data-testid=target-fill_rate]').waitFor();
    // Three targets, each named with its threshold.
    const text = (await panel.textContent()) ?? '';
    for (const words of ['Fill rate', '> 98 %', 'Slippage vs mid', '< 0.5 % of width', 'Signal to order', '< 2 s']) expect(text).toContain(words);
    await panelMatches('?days=30');
    // A measured fill rate, judged against its target.
    const fill = (await apiGet<Kpis>(demo, '/kpis?days=30')).targets[0];
    expect(fill?.value).not.toBeNull();
    expect(await panel.locator('[data-testid=target-fill_rate] [data-testid=target-verdict]').textContent()).toMatch(/met|missed/u);

    // Everything the journal holds.
    const all = panel.getByRole('button', { name: 'All' });
    await all.click();
    await expect.poll(() => all.getAttribute('aria-pressed')).toBe('true');
    await panelMatches('');

    const violations = await seriousViolations(page);
    expect(violations).toEqual([]);
  });
});
