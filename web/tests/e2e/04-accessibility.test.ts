// Accessibility against a real `vspread demo`: axe-core finds no serious or
// critical violation on any view (each config tab, the sign-in page, an
// expanded event, the confirmation dialogs) at 1280x800 and on a 390 px
// phone; every control is reached by Tab, shows where the focus is, and has
// an accessible name; dialogs keep the focus, close on Escape and give the
// focus back.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Page } from 'playwright-core';
import { TABS } from '../../src/lib/config-form/tabs';
import { openBrowser, seriousViolations, signIn, tabStops, type AxeViolation, type Browser } from './harness';

const demo = inject('demo');
let browser: Browser;
let page: Page;

const VIEWS: [label: string, path: string][] = [
  ['Dashboard', '/'],
  ['Scanner', '/scanner'],
  ['Positions', '/positions'],
  ['Orders', '/orders'],
  ['Decisions', '/decisions'],
  ['Configuration', '/config'],
];

beforeAll(async () => {
  browser = await openBrowser();
  page = browser.page;
});

afterAll(async () => {
  await browser?.close();
});

/** Opens a view from the navigation and waits for its content. */
async function open(path: string): Promise<void> {
  await page.locator(`nav a[href="${path}"]`).click();
  await expect.poll(() => new URL(page.url()).pathname).toBe(path);
  if (path === '/config') await page.locator('[data-path]').first().waitFor();
  if (path === '/scanner') await page.locator('[data-testid=scanner]').waitFor();
}

/** Serious and critical violations found so far in one test, by where they were found. */
let found: Record<string, AxeViolation[]> = {};

async function check(where: string): Promise<void> {
  const violations = await seriousViolations(page);
  if (violations.length > 0) found[where] = violations;
}

/** Fails with every violation the test found (all at once, not only the first). */
function expectNoneFound(): void {
  const all = found;
  found = {};
  expect(all).toEqual({});
}

async function expectClean(where: string): Promise<void> {
  await check(where);
  expectNoneFound();
}

describe('accessibility against vspread demo', () => {
  it('has no serious or critical axe violation on the sign-in page', async () => {
    await page.goto(demo.url);
    await page.locator('#token').waitFor();
    await expectClean('sign-in 1280');
    await page.setViewportSize({ width: 390, height: 844 });
    await expectClean('sign-in 390');
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  it('signs in', async () => {
    await signIn(page, demo);
  });

  for (const [width, height, scheme] of [
    [1280, 800, 'dark'],
    [390, 844, 'dark'],
    [1280, 800, 'light'],
  ] as const) {
    it(`has no serious or critical axe violation on any view at ${width} px (${scheme})`, async () => {
      await page.setViewportSize({ width, height });
      await page.emulateMedia({ colorScheme: scheme });
      try {
        for (const [label, path] of VIEWS) {
          await open(path);
          await check(`${label} ${width} ${scheme}`);
        }
        // Each configuration tab (its form is generated from the schema).
        for (const tab of width === 1280 && scheme === 'dark' ? TABS : TABS.slice(0, 2)) {
          await page.locator(`[role=tab][href="/config/${tab.id}"]`).click();
          await page.locator(`[data-path^="${tab.sections[0]}."]`).first().waitFor();
          await check(`config/${tab.id} ${width} ${scheme}`);
        }
        // An event opened to show its data.
        await open('/');
        await page.locator('[data-testid=event-row]').first().waitFor();
        // By its number: new events arrive at the top while the test runs.
        const seq = await page.locator('[data-testid=event-row]').first().getAttribute('data-seq');
        const kind = page.locator(`[data-testid=event-row][data-seq="${seq}"] button.kind`);
        await kind.click();
        expect(await kind.getAttribute('aria-expanded')).toBe('true');
        await check(`Dashboard with an event open ${width} ${scheme}`);
        await kind.click();
      } finally {
        await page.setViewportSize({ width: 1280, height: 800 });
        await page.emulateMedia({ colorScheme: 'dark' });
      }
      expectNoneFound();
    });

    it(`has no serious or critical axe violation in the confirmation dialogs at ${width} px (${scheme})`, async () => {
      await page.setViewportSize({ width, height });
      await page.emulateMedia({ colorScheme: scheme });
      try {
        const toggle = page.locator('header button', { hasText: 'Kill switch' });
        await toggle.click();
        await page.locator('dialog[open]').waitFor();
        await check(`kill switch dialog ${width} ${scheme}`);
        await page.keyboard.press('Escape');
        await expect.poll(() => page.locator('dialog[open]').count()).toBe(0);
        await open('/config');
        const rollback = page.locator('[data-testid=backups] tbody tr button', { hasText: 'Rollback' }).first();
        if ((await rollback.count()) > 0) {
          await rollback.click();
          await page.locator('dialog[open]').waitFor();
          await check(`rollback dialog ${width} ${scheme}`);
          await page.keyboard.press('Escape');
          await expect.poll(() => page.locator('dialog[open]').count()).toBe(0);
        }
      } finally {
        if ((await page.locator('dialog[open]').count()) > 0) await page.keyboard.press('Escape');
        await page.setViewportSize({ width: 1280, height: 800 });
        await page.emulateMedia({ colorScheme: 'dark' });
      }
      expectNoneFound();
    });
  }

  it('reaches every control of every view by Tab, each with a visible focus and a name', { timeout: 180_000 }, async () => {
    await page.setViewportSize({ width: 1280, height: 800 });
    for (const [label, path] of [...VIEWS, ['Configuration: exits', '/config/exits'] as [string, string]]) {
      // Loaded afresh, so Tab starts from the top of the page.
      await page.goto(`${demo.url}${path}`);
      await page.locator('[data-testid=status-bar]').waitFor();
      if (path.startsWith('/config')) await page.locator('[data-path]').first().waitFor();
      const { stops, missed } = await tabStops(page);
      // At least the header's: the skip link, five views, Pause, Kill switch, Sign out.
      expect(stops.length, label).toBeGreaterThanOrEqual(9);
      // The skip link comes first, then the header's navigation.
      expect(stops[0]?.name, label).toBe('Skip to the content');
      expect(stops.slice(0, 8).some((s) => s.name === 'Dashboard'), label).toBe(true);
      const hidden = stops.filter((s) => !s.focusVisible).map((s) => s.what);
      expect(hidden, `${label}: focus not visible on`).toEqual([]);
      const nameless = stops.filter((s) => s.name === '').map((s) => s.what);
      expect(nameless, `${label}: no accessible name`).toEqual([]);
      // Every enabled control on the page is among the Tab stops.
      expect(missed, `${label}: not reached by Tab`).toEqual([]);
    }
  });

  it('skips to the content, and a dialog keeps the focus, closes on Escape and gives the focus back', async () => {
    await page.goto(`${demo.url}/orders`);
    await page.locator('[data-testid=orders]').waitFor();
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Skip to the content');
    expect(await page.locator('a.skip').boundingBox().then((b) => (b?.y ?? -1) >= 0)).toBe(true);
    await page.keyboard.press('Enter');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('main');

    const toggle = page.locator('header button', { hasText: 'Kill switch' });
    await toggle.focus();
    await page.keyboard.press('Enter');
    const dialog = page.locator('dialog[open]');
    await dialog.waitFor();
    expect(await dialog.getAttribute('aria-labelledby')).toBeTruthy();
    // Tab cycles inside the modal dialog.
    for (let i = 0; i < 5; i += 1) {
      await page.keyboard.press('Tab');
      expect(await page.evaluate(() => document.activeElement?.closest('dialog') !== null)).toBe(true);
    }
    await page.keyboard.press('Escape');
    await expect.poll(() => page.locator('dialog[open]').count()).toBe(0);
    expect(await page.evaluate(() => document.activeElement?.textContent?.includes('Kill switch'))).toBe(true);
    // Nothing was engaged.
    expect(await toggle.textContent()).toContain('off');
  });

  it('had no script errors in the browser', () => {
    expect(browser.errors).toEqual([]);
  });
});
