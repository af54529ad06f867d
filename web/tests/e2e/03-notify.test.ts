// A notification target added in the Notifications tab, in a real browser
// against the real `vspread demo`: the list of tables is a form built from
// the schema; a secret file that is not there comes back from the server
// onto the list with nothing written; once it is there the apply saves the
// target in the file, and the kill switch engaged through the API arrives
// at a real HTTP receiver as the JSON body.
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Page } from 'playwright-core';
import { apiGet, apiPost, openBrowser, signIn, type Browser } from './harness';

const demo = inject('demo');
let browser: Browser;
let page: Page;
let receiver: Server;
const received: { path: string; body: string }[] = [];

function file(): string {
  return readFileSync(demo.configPath, 'utf8');
}

async function noWorkingOrder(): Promise<void> {
  await expect
    .poll(async () => (await apiGet<{ orders: unknown[] }>(demo, '/orders?status=working')).orders.length, { timeout: 150_000, interval: 250 })
    .toBe(0);
}

async function killSwitch(engaged: boolean): Promise<void> {
  await apiPost(demo, '/control/kill-switch', { engaged });
}

beforeAll(async () => {
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      received.push({ path: req.url ?? '', body });
      res.end('ok');
    });
  });
  await new Promise<void>((ok) => receiver.listen(0, '127.0.0.1', ok));
  browser = await openBrowser();
  page = browser.page;
  await signIn(page, demo);
});

afterAll(async () => {
  await browser?.close();
  receiver?.close();
});

describe('notifications in the configuration form', () => {
  it('adds a target: a missing secret is refused on the list, then it applies and delivers', { timeout: 300_000 }, async () => {
    const before = file();
    await page.click('nav >> text=Configuration');
    await page.click('[role=tab] >> text=Notifications');
    const list = page.locator('[data-path="notify.targets"]');
    expect(await list.textContent()).toContain('None.');
    await list.locator('button >> text=Add target').click();
    const item = list.locator('[data-item="0"]');
    await item.locator('[data-path="notify.targets[0].name"] input').fill('ops-hook');
    await item.locator('[data-path="notify.targets[0].secret_file"] input').fill('missing.url');
    // Every event is heard by default; the chips say so.
    expect(await item.locator('[data-path="notify.targets[0].events"] input:checked').count()).toBe(6);
    await expect.poll(() => list.getAttribute('class')).toContain('pending');
    expect(await page.locator('[role=tab] >> text=Notifications').locator('.badge').textContent()).toBe('1');
    await browser.shot('notify-target-1280x800');

    await page.click('text=Review diff…');
    const diff = page.locator('[data-testid=diff]');
    await diff.waitFor();
    expect(await diff.locator('tbody tr').allTextContents()).toEqual([expect.stringContaining('notify.targets')]);
    await noWorkingOrder();
    await page.click('text=Apply 1 change');
    const error = list.locator('.error');
    await expect.poll(() => error.textContent(), { timeout: 120_000 }).toContain('notify.targets[0].secret_file');
    expect(await error.textContent()).toContain('missing.url');
    expect(file()).toBe(before);

    // The secret where the target says, beside the config file.
    const port = (receiver.address() as AddressInfo).port;
    writeFileSync(join(demo.dataDir, 'hook.url'), `http://127.0.0.1:${port}/hook\n`);
    await item.locator('[data-path="notify.targets[0].secret_file"] input').fill('hook.url');
    await page.click('text=Review diff…');
    await diff.waitFor();
    await noWorkingOrder();
    await page.click('text=Apply 1 change');
    await page.locator('[data-testid=apply-result]').waitFor({ timeout: 120_000 });
    expect(file()).toMatch(/^\[\[notify\.targets\]\]$/mu);
    expect(file()).toMatch(/^name = "ops-hook"$/mu);
    expect(file()).toMatch(/^secret_file = "hook\.url"$/mu);
    expect(file()).not.toContain(`127.0.0.1:${port}`);

    await killSwitch(true);
    await killSwitch(false);
    await expect
      .poll(() => received.map((r) => (JSON.parse(r.body) as { kind: string; title: string }).title), { timeout: 30_000 })
      // Who acted: the token's role and name, and the client's address.
      .toEqual(
        expect.arrayContaining([
          'Kill switch engaged by admin:admin.token@127.0.0.1',
          'Kill switch released by admin:admin.token@127.0.0.1',
        ]),
      );
    expect(received[0]?.path).toBe('/hook');
    const stats = await (await fetch(`${demo.url}/metrics`)).text();
    expect(stats).toMatch(/^vspread_notify_sent_total\{target="ops-hook"\} [1-9]/mu);
  });
});
