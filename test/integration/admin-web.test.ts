// nsq admin's page in a real browser: headless Chromium (Debian's package; installed here when
// missing and the machine allows it, else the test says why and skips) opens the page served by a
// spawned `nsq admin` over lookupd + 2 spawned nodes, finds the topic, pauses a channel by clicking
// and confirming, and the test checks both nodes. A screenshot of each page goes to test/artifacts/
// (ignored by git).

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import t from 'tap';
import { startAdmin } from '../helpers/admin.js';
import { seedOrders, startCliCluster, topicOn } from '../helpers/cli-cluster.js';
import { waitFor } from '../helpers/stats.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = new URL('../../../test/artifacts/', import.meta.url);

/** Debian's chromium, installed when missing (as root, with apt); why not, when it cannot be. */
function ensureChromium(): string | null {
  if (existsSync(CHROMIUM)) return null;
  if (process.getuid?.() !== 0) return 'chromium is not installed and this user cannot install it (apt-get install chromium)';
  process.stderr.write('# admin-web: installing Debian\'s chromium for the browser test (apt-get install chromium)\n');
  const r = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'chromium'], { stdio: 'ignore', timeout: 300_000, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  if (r.status === 0 && existsSync(CHROMIUM)) return null;
  return `chromium could not be installed (apt-get exit ${r.status ?? r.signal}; no network?)`;
}

// installing takes longer than the suite's 120 s per file
t.setTimeout(420_000);
const missing = ensureChromium();
if (missing !== null) {
  t.comment(`SKIPPED the browser test: ${missing}`);
  t.pass('skipped: no browser');
} else {
  const { chromium } = await import('playwright-core');
  mkdirSync(ARTIFACTS, { recursive: true });
  const shot = (name: string): string => new URL(`admin-${name}.png`, ARTIFACTS).pathname;

  const c = await startCliCluster(t);
  const [a, b] = c.nodes as [string, string];
  await seedOrders(c);
  const admin = await startAdmin(t, [`--lookupd-http-address=${c.lookupd}`]);

  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    // playwright gives it a new empty profile; the rest keep Chromium off the (closed) network
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  t.teardown(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));

  t.test('streams: the topic with its depth over both nodes', async (t) => {
    await page.goto(`${admin.url}/`);
    const row = page.locator('tr[data-topic="orders"]');
    await row.waitFor({ timeout: 15_000 });
    const cells = await row.locator('td').allInnerTexts();
    t.match(cells[0], /orders/);
    t.equal(cells[1], '10', 'depth: 5 messages in each of 2 channels');
    t.equal(cells[3], '5', 'messages');
    t.equal(cells[6], '2', 'on 2 nodes');
    await page.screenshot({ path: shot('streams'), fullPage: true });
  });

  t.test('topic, then channel by clicking; pause after confirming; both nodes paused', async (t) => {
    await page.locator('tr[data-topic="orders"] a').click();
    await page.locator('tr[data-channel="billing"]').waitFor();
    t.equal(new URL(page.url()).pathname, '/topics/orders');
    await page.getByText('On each node').waitFor();
    await page.locator('table.nodes tbody tr').nth(1).waitFor();
    t.equal(await page.locator('table.nodes tbody tr').count(), 2, 'a row per node');
    await page.screenshot({ path: shot('topic'), fullPage: true });

    await page.locator('tr[data-channel="billing"] a').click();
    await page.getByRole('heading', { name: /Channel orders\/billing/ }).waitFor();
    await page.screenshot({ path: shot('channel'), fullPage: true });

    await page.getByRole('button', { name: 'Pause' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    t.match(await dialog.innerText(), /Pause channel orders\/billing\?/);
    // Cancel first: nothing happens
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    t.equal((await topicOn(a, 'orders'))?.channels.find((ch) => ch.channel_name === 'billing')?.paused, false, 'cancelled: not paused');
    await page.getByRole('button', { name: 'Pause' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Yes, do it' }).click();
    await page.getByRole('status').filter({ hasText: 'Done.' }).waitFor();
    for (const node of [a, b]) t.equal((await topicOn(node, 'orders'))?.channels.find((ch) => ch.channel_name === 'billing')?.paused, true, `billing paused on ${node}`);
    t.equal((await topicOn(a, 'orders'))?.channels.find((ch) => ch.channel_name === 'audit')?.paused, false, 'audit untouched');
    await page.getByRole('button', { name: 'Unpause' }).waitFor({ timeout: 10_000 });
    await page.screenshot({ path: shot('channel-paused'), fullPage: true });
  });

  t.test('dead letters: the channel\'s dead count on the topic page', async (t) => {
    const res = await fetch(`http://${a}/channel/config?topic=orders&channel=audit&max_attempts=1`, { method: 'POST' });
    t.equal(res.status, 200, 'max_attempts=1 on orders/audit at node a');
    const { default: nsq } = await import('nsqjs');
    const reader = new nsq.Reader('orders', 'audit', { nsqdTCPAddresses: [`127.0.0.1:${c.tcpPorts[0]}`], maxInFlight: 10 });
    reader.on('error', () => {});
    reader.on('message', (m: { requeue: (delay: number, backoff: boolean) => void }) => m.requeue(0, false));
    reader.connect();
    t.teardown(() => reader.close());
    await waitFor('node a moved audit\'s 3 messages to orders.dead', async () => (await topicOn(a, 'orders'))?.channels.find((ch) => ch.channel_name === 'audit')?.dead_lettered_count === 3, 15_000);
    reader.close();
    await page.goto(`${admin.url}/topics/orders`);
    const audit = page.locator('tr[data-channel="audit"] td');
    await page.waitForFunction(`document.querySelector('tr[data-channel="audit"] td:nth-child(7)')?.textContent === '3'`, undefined, { timeout: 15_000 });
    t.equal((await audit.allInnerTexts())[6], '3', 'Dead: 3');
    await page.goto(`${admin.url}/`);
    await page.locator('tr[data-topic="orders.dead"]').waitFor({ timeout: 15_000 });
    t.pass('orders.dead is listed');
    await page.screenshot({ path: shot('dead-letters'), fullPage: true });
  });

  t.test('nodes, node, counter, lookup pages render what the cluster has', async (t) => {
    await page.getByRole('link', { name: 'Nodes' }).click();
    await page.locator('table.nodes tbody tr').nth(1).waitFor();
    t.equal(await page.locator('table.nodes tbody tr').count(), 2);
    await page.screenshot({ path: shot('nodes'), fullPage: true });
    await page.locator('table.nodes tbody tr a').first().click();
    await page.getByRole('heading', { name: /^Node / }).waitFor();
    await page.locator('tr.topic-row').first().waitFor();
    t.match(await page.locator('tr.topic-row').first().innerText(), /orders/);
    await page.screenshot({ path: shot('node'), fullPage: true });
    await page.getByRole('link', { name: 'Counter' }).click();
    const processed = page.getByTestId('processed');
    await processed.waitFor();
    t.equal(await processed.innerText(), '10', '5 messages into each of 2 channels');
    await page.screenshot({ path: shot('counter'), fullPage: true });
    await page.getByRole('link', { name: 'Lookup' }).click();
    await page.getByText(c.lookupd).waitFor();
    await page.screenshot({ path: shot('lookup'), fullPage: true });
  });

  t.test('a phone-sized window: the streams page in one column', async (t) => {
    const phone = await browser.newPage({ viewport: { width: 390, height: 844 }, isMobile: true });
    await phone.goto(`${admin.url}/`);
    await phone.locator('tr[data-topic="orders"]').waitFor();
    // evaluated in the page (a string: this file is compiled without the DOM's types)
    const overflow = (await phone.evaluate('document.documentElement.scrollWidth - window.innerWidth')) as number;
    t.ok(overflow <= 0, `the page is no wider than the phone (${overflow}px over); wide tables scroll on their own`);
    await phone.screenshot({ path: shot('phone'), fullPage: true });
    await phone.close();
  });

  t.test('no script error on any page', async (t) => {
    await waitFor('the page settled', () => true);
    t.same(errors, []);
  });
}
