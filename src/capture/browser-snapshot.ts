import type { Browser } from 'playwright-core';
import type { PageFetcher } from './fetch-page.js';

export interface Snapshot {
  pdf: Buffer;
  png: Buffer;
}

/**
 * Renders a page in headless Chromium (`--capture-browser`, Debian's chromium through playwright-core)
 * to a full-page PNG and a PDF. The browser never touches the network itself: every http(s) request
 * it makes is answered from PageFetcher, i.e. through the one outbound address policy with its DNS
 * check, redirect re-checks and size cap; anything else is aborted. As a second fence, the browser's
 * own resolver maps every name to nothing and its proxy is a closed port with no loopback bypass, so
 * a request that escaped interception (WebSocket, WebRTC, prefetch) still cannot connect.
 */
export class BrowserSnapshotter {
  private browser?: Promise<Browser>;

  constructor(
    private readonly executablePath: string,
    private readonly fetcher: PageFetcher,
    private readonly timeoutMs = 30_000,
  ) {}

  async snapshot(url: string): Promise<Snapshot> {
    this.browser ??= launch(this.executablePath);
    const browser = await this.browser;
    const context = await browser.newContext({ serviceWorkers: 'block', viewport: { width: 1280, height: 900 } });
    try {
      await context.route('**/*', async (route) => {
        const requested = route.request().url();
        if (!/^https?:/i.test(requested) || route.request().method() !== 'GET') return route.abort('blockedbyclient');
        try {
          const resource = await this.fetcher.fetchResource(requested);
          await route.fulfill({ status: resource.statusCode, contentType: resource.contentType, body: resource.body });
        } catch {
          await route.abort('blockedbyclient').catch(() => {});
        }
      });
      const page = await context.newPage();
      await page.goto(url, { waitUntil: 'load', timeout: this.timeoutMs });
      const png = await page.screenshot({ fullPage: true, type: 'png', timeout: this.timeoutMs });
      await page.emulateMedia({ media: 'screen' });
      const pdf = await page.pdf({ printBackground: true, format: 'A4' });
      return { pdf, png };
    } finally {
      await context.close().catch(() => {});
    }
  }

  async close(): Promise<void> {
    if (!this.browser) return;
    const browser = await this.browser.catch(() => undefined);
    await browser?.close().catch(() => {});
  }
}

/**
 * playwright-core is loaded only when --capture-browser is set: importing it costs ~83 MB of RSS
 * (measured: bare Node 39 MB, after the import 122 MB), which every instance would carry for nothing
 * and which took the 1 GB registration test from 235 MB to 281 MB peak.
 */
async function launch(executablePath: string): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath,
    headless: true,
    proxy: { server: 'http://127.0.0.1:9', bypass: '<-loopback>' },
    args: [
      '--no-sandbox',
      '--disable-dev-shm-usage',
      '--host-resolver-rules=MAP * ~NOTFOUND',
      '--proxy-bypass-list=<-loopback>',
      '--force-webrtc-ip-handling-policy=disable_non_proxied_udp',
      '--disable-background-networking',
    ],
  });
}
