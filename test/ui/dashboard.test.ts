/**
 * The dashboard in a real browser: headless Chromium from Debian's `chromium` package (installed
 * by scripts/setup.sh), driven by playwright-core, against a real host over real HTTP. An
 * operator signs in, deploys two versions through the page, invokes them, watches the live log,
 * rolls back with the button, reads usage and the latest bench run; hostile guest output and
 * answers render as text. A screenshot of the whole page is checked; it is written to the test's
 * temp directory, kept (and its path printed) when WAFER_KEEP_SCREENSHOTS=1.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../../host/src/paths.js';
import { ENGINES, startTestHost, type TestHost } from '../helpers/host.js';
import { respondingComponent, send } from '../hostile/http-kit.js';

const CHROMIUM = '/usr/bin/chromium';
const WAIT_MS = 20_000;
const HOSTILE_LOG = '<img/src=x/onerror=window.__xss=1>';
const HOSTILE_BODY = '<img src=x onerror="window.__xss=2"><script>window.__xss=3</script>';

let browser: Browser;
let workDir: string;
beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: scripts/setup.sh installs Debian's chromium package`);
  workDir = await mkdtemp(join(tmpdir(), 'wafer-ui-'));
  browser = await chromium.launch({ executablePath: CHROMIUM });
});
afterAll(async () => {
  await browser?.close();
});

/** A PNG's width and height from its IHDR chunk, checking the signature. */
function pngSize(png: Buffer): { width: number; height: number } {
  expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  expect(png.subarray(12, 16).toString('latin1')).toBe('IHDR');
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

describe.each(ENGINES)('dashboard in Chromium on %s', (engine) => {
  let host: TestHost;
  let page: Page;
  /** Script errors and policy violations the page reported. */
  const problems: string[] = [];

  beforeAll(async () => {
    const benchDir = join(workDir, `bench-${engine}`);
    for (const [run, scenario] of [['2026-10-01T00-00-00Z', 'older-run'], ['2026-11-23T15-04-24Z', 'warm-http']]) {
      await mkdir(join(benchDir, run!), { recursive: true });
      await writeFile(join(benchDir, run!, 'summary.json'), JSON.stringify({
        environment: { command: 'wafer bench', commit: 'abc1234', cpu: 'test cpu', cores: 2, node: 'v20' },
        results: [
          { scenario, engine: 'wasmtime', function: 'hello-rust', variant: 'warm-http', unit: 'µs', p50: 412, p99: 903 },
          { scenario: 'throughput', engine: 'wasmtime', function: 'hello-rust', connections: 64, unit: 'ms', p50: 3, p99: 9, rps: 4321, ratio_to_baseline: 0.42 },
        ],
      }));
    }
    host = await startTestHost(engine, { benchResultsDir: benchDir });
    const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
    page = await context.newPage();
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('console', (msg) => {
      if (/Content Security Policy|Trusted/i.test(msg.text())) problems.push(`console: ${msg.text()}`);
    });
  });
  afterAll(async () => {
    await page?.context().close();
    await host?.destroy();
  });

  const text = (selector: string) => page.locator(selector).innerText();
  /** Waits until the element matching `selector` shows `wanted`. */
  const waitFor = (selector: string, wanted: string | RegExp) => page.locator(selector, { hasText: wanted }).first().waitFor({ timeout: WAIT_MS });
  const deployThroughPage = async (name: string, file: string, version: number) => {
    await page.fill('#deploy-name', name);
    await page.setInputFiles('#deploy-file', file);
    await page.click('#deploy button[type=submit]');
    await waitFor('#deploy-status', `Deployed ${name} v${version}`);
    await waitFor('#versions-table tr.current', `v${version}`);
  };
  const invokeThroughPage = async (rest: string) => {
    await page.fill('#invoke-path', rest);
    await page.click('#invoke button[type=submit]');
    await waitFor('#invoke-status', /^\d{3} /);
    return { status: await text('#invoke-status'), headers: await text('#invoke-headers'), body: await page.locator('#invoke-output').textContent() };
  };

  it('asks for the token, and refuses a wrong one', async () => {
    await page.goto(`${host.url}/`);
    expect(new URL(page.url()).pathname).toBe('/ui/');
    expect(await page.locator('#main').isVisible()).toBe(false);
    await page.fill('#token', 'not-the-token');
    await page.click('#signin button[type=submit]');
    await waitFor('#signin-error', 'not this host');
    await page.fill('#token', host.token);
    await page.click('#signin button[type=submit]');
    await waitFor('#functions-table', 'No functions yet');
    // Kept in the page's memory only: a function's page on this origin finds nothing stored.
    expect(await page.evaluate(() => sessionStorage.length + localStorage.length)).toBe(0);
    await waitFor('#host-info', engine);
  });

  it('deploys a component, invokes it, and shows the call in the live log', async () => {
    await deployThroughPage('demo', join(ROOT, 'samples', 'dist', 'logger-rust.wasm'), 1);
    await waitFor('#functions-table tr.selected', 'demo');
    await waitFor('#tail-status', 'live');
    const call = await invokeThroughPage('/hello?from=page');
    expect(call.status).toMatch(/^200 /);
    expect(call.headers).toMatch(/x-wafer-version\s+1/);
    expect(call.headers).toMatch(/x-wafer-invocation-id\s+\S+/);
    expect(call.headers).toMatch(/x-wafer-sample\s+logger/);
    expect(JSON.parse(call.body ?? '')).toHaveProperty('now_ms');
    await waitFor('#log-list li', 'logger: GET /hello');
  });

  it('renders hostile guest output in the log as text', async () => {
    // Sent raw: a browser would percent-encode the path, and the guest prints it as it came.
    const res = await send(host.url, 'GET', `/fn/demo/${HOSTILE_LOG}`);
    expect(res.status).toBe(200);
    await waitFor('#log-list li', HOSTILE_LOG);
    expect(await page.locator('#log-list img').count()).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();
  });

  it('renders a hostile answer (body and headers) as text', async () => {
    const evil = await respondingComponent({
      status: 200,
      headers: [{ name: 'content-type', value: 'text/html' }, { name: 'x-evil', value: HOSTILE_BODY }],
      body: new TextEncoder().encode(HOSTILE_BODY),
    });
    const file = join(workDir, `evil-${engine}.wasm`);
    await writeFile(file, evil);
    await deployThroughPage('evil', file, 1);
    const call = await invokeThroughPage('/');
    expect(call.body).toBe(HOSTILE_BODY);
    expect(call.headers).toContain(HOSTILE_BODY);
    expect(await page.locator('#invoke-result img, #invoke-result script').count()).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();
    await page.click('#functions-table button:text-is("demo")');
    await waitFor('#detail-name', 'demo');
    await waitFor('#log-list li', HOSTILE_LOG);
  });

  it('deploys a second version and rolls back to the first with the button, after a confirm', async () => {
    const alias = await host.api('PUT', '/v1/functions/demo/aliases/stable', JSON.stringify({ version: 1 }), { 'content-type': 'application/json' });
    expect(alias.status).toBe(200);
    await deployThroughPage('demo', join(ROOT, 'samples', 'dist', 'hello-rust.wasm'), 2);
    await waitFor('#versions-table tr[data-version="1"]', 'stable');
    await waitFor('#aliases-table td', 'stable');
    expect(await text('#aliases-table tbody')).toMatch(/stable\s+v1 \(\d+\)/);
    expect((await invokeThroughPage('?name=Ada')).body).toBe('Hello, Ada!');

    page.once('dialog', (dialog) => void dialog.dismiss());
    await page.click('#rollback');
    expect(await text('#versions-table tr.current')).toContain('v2');

    const confirmed = new Promise<string>((resolve) => page.once('dialog', (dialog) => {
      resolve(dialog.message());
      void dialog.accept();
    }));
    await page.click('#rollback');
    expect(await confirmed).toContain('instead of v2');
    await waitFor('#versions-status', 'Rolled back from v2 to v1');
    await waitFor('#versions-table tr.current', 'v1');
    await waitFor('#functions-table tr[data-name=demo]', 'v1');
    const call = await invokeThroughPage('/after-rollback');
    expect(call.headers).toMatch(/x-wafer-version\s+1/);
    await waitFor('#log-list li', 'logger: GET /after-rollback');
    const current = await (await host.api('GET', '/v1/functions/demo/versions')).json();
    expect(current.current).toBe(1);
  });

  it('shows usage totals and charts', async () => {
    // The host has metered demo's calls: /hello, the hostile path, ?name=Ada and /after-rollback.
    await page.click('#usage-refresh');
    await page.waitForFunction(() => Number(document.getElementById('usage-invocations')?.textContent) >= 4, undefined, { timeout: WAIT_MS });
    expect(await text('#usage-errors')).toBe('0');
    expect(await page.locator('#chart-calls svg rect.ok').count()).toBeGreaterThan(0);
    expect(await page.locator('#chart-latency svg rect.latency').count()).toBeGreaterThan(0);
  });

  it('shows the newest bench run', async () => {
    await waitFor('#bench-info', 'Run 2026-11-23T15-04-24Z');
    const bench = await text('#bench-table');
    expect(bench).toContain('warm-http');
    expect(bench).toContain('4321');
    expect(bench).not.toContain('older-run');
  });

  it('looks complete in a screenshot: functions, versions, log, charts, bench', async () => {
    // Each key element, with a colour its pixels must show in the screenshot (null: any ink).
    const keys: Array<[string, [number, number, number] | null]> = [
      ['#functions-table table', null], ['#versions-table table', null], ['#aliases-table table', null],
      ['#rollback', null], ['#invoke-result', null], ['#usage-totals dl', null], ['#bench-table table', null],
      ['#log-list', [0xfd, 0xf1, 0xef]], // the stderr background of an entry
      ['#chart-calls svg', [0x1f, 0x8a, 0x4c]], // ok calls
      ['#chart-latency svg', [0x8a, 0x5c, 0xd1]], // duration bars
    ];
    for (const [selector] of keys) expect(await page.locator(selector).first().isVisible(), selector).toBe(true);
    const file = join(workDir, `dashboard-${engine}.png`);
    await page.screenshot({ path: file, fullPage: true });
    const png = await readFile(file);
    const { width, height } = pngSize(png);
    expect(width).toBe(1400);
    expect(height).toBeGreaterThanOrEqual(1000);
    if (process.env.WAFER_KEEP_SCREENSHOTS === '1') console.log(`dashboard screenshot (${engine}): ${file}`);

    // Where each element sits on the full page, then what the screenshot shows there, decoded
    // by the browser itself on a blank page.
    const boxes = await page.evaluate((selectors) => selectors.map((selector) => {
      const r = document.querySelector(selector)!.getBoundingClientRect();
      return { x: Math.round(r.left + window.scrollX), y: Math.round(r.top + window.scrollY), w: Math.round(r.width), h: Math.round(r.height) };
    }), keys.map(([selector]) => selector));
    const checker = await page.context().newPage();
    const seen = await checker.evaluate(async ({ b64, boxes, colours }) => {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const image = await createImageBitmap(new Blob([bytes], { type: 'image/png' }));
      const canvas = new OffscreenCanvas(image.width, image.height);
      const ctx = canvas.getContext('2d')!;
      ctx.drawImage(image, 0, 0);
      return boxes.map((box, i) => {
        const data = ctx.getImageData(box.x, box.y, Math.max(1, box.w), Math.max(1, box.h)).data;
        const distinct = new Set<number>();
        let matching = 0;
        const want = colours[i];
        for (let p = 0; p < data.length; p += 4) {
          distinct.add((data[p]! << 16) | (data[p + 1]! << 8) | data[p + 2]!);
          if (want && Math.abs(data[p]! - want[0]) < 8 && Math.abs(data[p + 1]! - want[1]) < 8 && Math.abs(data[p + 2]! - want[2]) < 8) matching++;
        }
        return { distinct: distinct.size, matching };
      });
    }, { b64: png.toString('base64'), boxes, colours: keys.map(([, colour]) => colour) });
    await checker.close();
    keys.forEach(([selector, colour], i) => {
      expect(boxes[i]!.y + boxes[i]!.h, `${selector} lies within the screenshot`).toBeLessThanOrEqual(height);
      expect(seen[i]!.distinct, `${selector} shows more than a blank area`).toBeGreaterThan(4);
      if (colour) expect(seen[i]!.matching, `${selector} shows its colour`).toBeGreaterThan(20);
    });
    expect(problems).toEqual([]);
  });

  it('runs under its policy: an innerHTML assignment throws, an inline script does not run', async () => {
    const outcome = await page.evaluate(() => {
      try {
        document.createElement('div').innerHTML = '<b>x</b>';
        return 'assigned';
      } catch (err) {
        return (err as Error).name;
      }
    });
    expect(outcome).toBe('TypeError');
    await page.evaluate(() => {
      const script = document.createElement('script');
      script.textContent = 'window.__inline = 1';
      document.body.append(script);
    }).catch(() => undefined);
    expect(await page.evaluate(() => (window as unknown as { __inline?: number }).__inline)).toBeUndefined();
  });

  it('forgets the token on sign out', async () => {
    await page.click('#signout');
    expect(await page.evaluate(() => sessionStorage.length + localStorage.length)).toBe(0);
    await page.reload();
    expect(await page.locator('#signin-panel').isVisible()).toBe(true);
    expect(await page.locator('#main').isVisible()).toBe(false);
  });
});

afterAll(async () => {
  // WAFER_KEEP_SCREENSHOTS=1 keeps the folder (screenshots included) for a person to look at.
  if (process.env.WAFER_KEEP_SCREENSHOTS !== '1') await rm(workDir, { recursive: true, force: true });
});
