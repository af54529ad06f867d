// The cockpit's panels against a real `vspread demo`: the Dashboard's KPIs
// against the plan's targets, as the engine computes them from the journal
// (`/kpis`), for the period chosen; the Decisions view's timeline per
// symbol (conditions with their numbers, pass or fail, the outcome), each
// setting a link to the Config view at that key; axe-core clean on both.
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
interface Condition {
  key: string;
  passed: boolean;
}
interface Decision {
  id: string;
  symbol: string;
  signal: { evaluations: { conditions: Condition[] }[] } | null;
  gate: { refusals: { rule: string; key: string | null; message: string }[] } | null;
  outcome: { result: string; refusal?: { rule: string; key: string | null; message: string } };
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

describe('the Decisions view against vspread demo', () => {
  it('shows each decision with its conditions and outcome, per symbol, linked to the settings', { timeout: 120_000 }, async () => {
    // A decision with a signal evaluated (the demo's first cycle has one per symbol).
    let newest: Decision | undefined;
    await expect
      .poll(
        async () => {
          newest = (await apiGet<{ decisions: Decision[] }>(demo, '/decisions?limit=100')).decisions.find((d) => d.signal !== null);
          return newest !== undefined;
        },
        { timeout: 60_000, interval: 500 },
      )
      .toBe(true);
    const d = newest as Decision;
    await page.locator('nav a[href="/decisions"]').click();
    await expect.poll(() => new URL(page.url()).pathname).toBe('/decisions');
    const item = page.locator(`li[id="${d.id}"]`);
    await item.waitFor({ timeout: 20_000 });
    // Every condition, passed or failed as the engine judged it, with its key.
    const conditions = (d.signal?.evaluations ?? []).flatMap((e) => e.conditions);
    const rows = item.locator('[data-testid=condition]');
    expect(await rows.count()).toBe(conditions.length);
    for (const [i, c] of conditions.entries()) {
      const row = rows.nth(i);
      expect(await row.getAttribute('data-passed')).toBe(String(c.passed));
      expect(await row.locator('[data-testid=config-link]').textContent()).toBe(c.key);
      expect(await row.textContent()).toContain(c.passed ? 'pass' : 'fail');
    }
    expect(await item.getAttribute('data-outcome')).toBe(d.outcome.result);

    // One symbol's timeline, kept in the URL.
    await page.locator('[data-testid=decision-symbol]').selectOption(d.symbol);
    await expect.poll(() => new URL(page.url()).searchParams.get('symbol')).toBe(d.symbol);
    await expect
      .poll(async () => new Set(await page.locator('[data-testid=decision] .line strong').allTextContents()))
      .toEqual(new Set([d.symbol]));
    expect(await seriousViolations(page)).toEqual([]);

    // A condition's setting opens the Config view at that key, marked and focused.
    const key = conditions[0]?.key ?? '';
    await page.locator(`li[id="${d.id}"] [data-testid=config-link]`).first().click();
    await expect.poll(() => new URL(page.url()).searchParams.get('key')).toBe(key);
    expect(new URL(page.url()).pathname).toMatch(/^\/config\//u);
    const field = page.locator(`[data-path="${key}"]`);
    await expect.poll(() => field.getAttribute('class')).toContain('linked');
    expect(await field.evaluate((el) => el.contains(document.activeElement))).toBe(true);
  });
});

describe('a refusal in the Decisions view', () => {
  it('names the rule, its numbers and message, and links its setting', { timeout: 240_000 }, async () => {
    // Once the demo has entered on a symbol whose signal still holds, the next cycles there are refused
    // (an entry working, or the per-underlying limit).
    let refused: Decision | undefined;
    await expect
      .poll(
        async () => {
          refused = (await apiGet<{ decisions: Decision[] }>(demo, '/decisions?limit=1000')).decisions.find(
            (d) => d.outcome.result === 'refused' || (d.gate?.refusals.length ?? 0) > 0,
          );
          return refused !== undefined;
        },
        { timeout: 220_000, interval: 1000 },
      )
      .toBe(true);
    const d = refused as Decision;
    const refusal = d.gate?.refusals[0] ?? d.outcome.refusal;
    await page.goto(`${demo.url}/decisions?symbol=${d.symbol}`);
    const item = page.locator(`li[id="${d.id}"]`);
    await item.waitFor({ timeout: 20_000 });
    const shown = item.locator('[data-testid=refusal]').first();
    const text = (await shown.textContent()) ?? '';
    expect(text).toContain(refusal?.rule ?? '?');
    expect(text).toContain(refusal?.message ?? '?');
    if (refusal?.key) expect(await shown.locator('[data-testid=config-link]').textContent()).toBe(refusal.key);
  });
});
