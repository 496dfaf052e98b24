import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { basicAuth, createTestDatabase, openTestStore, startTestService, testStores, type TestService } from './support/test-service.js';
import { mailParts } from './support/mail.js';
import { PDFSIG_OFFLINE, run } from './support/tools.js';
import { until } from './support/until.js';

/**
 * API.md §11 as a user meets it: the welcome e-mail's link and password, in headless Chromium
 * (playwright-core), then the same pages over plain HTTP for what a browser hides — cookie flags,
 * CSRF refusals, rate limiting, no account enumeration, sessions shared by instances on PostgreSQL.
 */

const chromiumPath = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((candidate) => existsSync(candidate));
const AUTH_A = basicAuth('client-a', 'secret-a');

async function register(service: TestService, content: string, userId: string, email: string, title: string): Promise<string> {
  const response = await fetch(`${service.url}/v1/registrations/file`, {
    method: 'POST',
    headers: { authorization: AUTH_A, 'content-type': 'application/json', prefer: 'wait=20' },
    body: JSON.stringify({ content: Buffer.from(content).toString('base64'), name: `${title}.txt`, title, userId, userEmail: email }),
  });
  const body = (await response.json()) as any;
  assert.ok(body.rid, JSON.stringify(body));
  return body.rid;
}

/** The outbox's .eml files to `email`, oldest first (file names are time-ordered ids). */
async function mailsTo(service: TestService, email: string): Promise<string[]> {
  const folder = path.join(service.workFolder, 'outbox');
  const names = (await readdir(folder).catch(() => [] as string[])).filter((name) => name.endsWith('.eml')).sort();
  const mails = await Promise.all(names.map((name) => readFile(path.join(folder, name), 'utf8')));
  return mails.filter((mail) => new RegExp(`^To: ${email.replace(/[.+]/g, '\\$&')}\\r$`, 'm').test(mail));
}

/** A plain-HTTP client with a cookie jar: what a browser does, made visible. */
class Visitor {
  readonly cookies = new Map<string, string>();
  lastSetCookies: string[] = [];
  constructor(readonly base: string) {}

  async request(pathname: string, init: { method?: string; form?: Record<string, string> } = {}) {
    const headers: Record<string, string> = {};
    if (this.cookies.size) headers.cookie = [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    if (init.form) headers['content-type'] = 'application/x-www-form-urlencoded';
    const response = await fetch(`${this.base}${pathname}`, {
      method: init.method ?? (init.form ? 'POST' : 'GET'),
      headers,
      body: init.form ? new URLSearchParams(init.form).toString() : undefined,
      redirect: 'manual',
    });
    this.lastSetCookies = response.headers.getSetCookie();
    for (const cookie of this.lastSetCookies) {
      const [pair] = cookie.split(';');
      const at = pair.indexOf('=');
      const value = pair.slice(at + 1);
      if (/Max-Age=0/.test(cookie) || value === '') this.cookies.delete(pair.slice(0, at));
      else this.cookies.set(pair.slice(0, at), value);
    }
    return { status: response.status, location: response.headers.get('location'), text: await response.text(), headers: response.headers };
  }

  /** The CSRF token of the form on a page. */
  static csrf(page: string): string {
    const token = /name="csrf" value="([^"]+)"/.exec(page)?.[1];
    assert.ok(token, 'the page has no CSRF token');
    return token;
  }

  async logIn(email: string, password: string) {
    const page = await this.request('/account/login');
    return this.request('/account/login', { form: { csrf: Visitor.csrf(page.text), email, password } });
  }
}

describe('account pages in headless Chromium', { skip: chromiumPath ? false : 'no Chromium installed' }, () => {
  let service: TestService;
  let scratch: string;

  before(async () => {
    service = await startTestService();
    scratch = await mkdtemp(path.join(tmpdir(), 'signet-account-'));
  });
  after(async () => {
    await service.stop();
    await rm(scratch, { recursive: true, force: true });
  });

  test('the e-mailed link and password open the account; certificate.pdf verifies; password change, logout, reset by e-mail (once)', { timeout: 120_000 }, async () => {
    const email = 'carol@example.org';
    const rid = await register(service, 'Carol’s first work', 'carol-1', email, 'First work');
    const welcome = mailParts((await until('the welcome e-mail', async () => (await mailsTo(service, email))[0]))!);
    const password = /^Password: (\S+)$/m.exec(welcome.text)?.[1];
    const loginLink = /Log in at:\s+(\S+)/.exec(welcome.text)?.[1];
    assert.ok(password && loginLink, welcome.text);
    assert.equal(new URL(loginLink).pathname, '/account/login');
    assert.match(welcome.text, /see everything registered in your name/);
    assert.ok(welcome.html.includes(`href="${loginLink}"`), 'the HTML part links to the login page');
    assert.ok(welcome.html.includes(password), 'the HTML part holds the password too');
    assert.match(welcome.headers, /Content-Type: multipart\/alternative/);

    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
    try {
      const context = await browser.newContext({ acceptDownloads: true, javaScriptEnabled: false });
      const page = await context.newPage();
      // The link names the advertised host; the test opens the same path on the address it listens on.
      await page.goto(`${service.url}${new URL(loginLink).pathname}`);
      await page.fill('input[name=email]', email);
      await page.fill('input[name=password]', password);
      await Promise.all([page.waitForURL(`${service.url}/account`), page.click('button[type=submit]')]);
      assert.ok((await page.textContent('table'))!.includes(rid), 'the registration is listed');
      assert.ok((await page.textContent('table'))!.includes('First work'));

      const [download] = await Promise.all([page.waitForEvent('download'), page.click('a[href$="/certificate.pdf"]')]);
      const pdfPath = path.join(scratch, 'certificate.pdf');
      await download.saveAs(pdfPath);
      const report = run('pdfsig', [...PDFSIG_OFFLINE, pdfPath]).stdout;
      assert.match(report, /Signature is Valid\./, report);
      assert.ok(run('pdftotext', [pdfPath, '-']).stdout.includes(rid));

      // Change the password, log out, and the old password no longer opens anything.
      const newPassword = 'correct horse battery staple';
      await page.click('a[href="/account/password"]');
      await page.fill('input[name=current]', password);
      await page.fill('input[name=password]', newPassword);
      await page.fill('input[name=confirmation]', newPassword);
      await page.click('form[action="/account/password"] button[type=submit]');
      assert.match((await page.textContent('.info'))!, /password was changed/);
      await Promise.all([page.waitForURL(`${service.url}/account/login`), page.click('nav button[type=submit]')]);
      const tryLogin = async (secret: string) => {
        await page.goto(`${service.url}/account/login`);
        await page.fill('input[name=email]', email);
        await page.fill('input[name=password]', secret);
        await page.click('button[type=submit]');
        return page.url();
      };
      assert.equal(await tryLogin(password), `${service.url}/account/login`);
      assert.match((await page.textContent('.error'))!, /Wrong e-mail address or password/);
      assert.equal(await tryLogin(newPassword), `${service.url}/account`);
      await page.click('nav button[type=submit]');

      // Reset by e-mail: the link works once.
      await page.goto(`${service.url}/account/reset`);
      await page.fill('input[name=email]', email);
      await page.click('button[type=submit]');
      assert.match((await page.textContent('.info'))!, /If an account exists for this address/);
      const resetMail = mailParts((await until('the reset e-mail', async () => (await mailsTo(service, email))[1]))!);
      const resetLink = /^(http\S+\/account\/reset\?token=\S+)$/m.exec(resetMail.text)?.[1];
      assert.ok(resetLink, resetMail.text);
      assert.ok(resetMail.html.includes(resetLink.replace(/&/g, '&amp;')));
      const resetPath = `${service.url}${new URL(resetLink).pathname}${new URL(resetLink).search}`;
      await page.goto(resetPath);
      const resetPassword = 'a brand new passphrase';
      await page.fill('input[name=password]', resetPassword);
      await page.fill('input[name=confirmation]', resetPassword);
      await page.click('button[type=submit]');
      assert.match((await page.textContent('.info'))!, /new password is set/);
      await page.goto(resetPath);
      assert.match((await page.textContent('.error'))!, /expired or was used already/);
      assert.equal(await tryLogin(newPassword), `${service.url}/account/login`);
      assert.equal(await tryLogin(resetPassword), `${service.url}/account`);
      assert.ok((await page.textContent('table'))!.includes(rid));
      await context.close();
    } finally {
      await browser.close();
    }
  });
});

describe('account pages over plain HTTP: cookies, CSRF, rate limits, enumeration', () => {
  let service: TestService;
  let password: string;
  const email = 'dave@example.org';
  let rid: string;

  before(async () => {
    service = await startTestService();
    rid = await register(service, 'Dave’s work', 'dave-1', email, 'Dave work');
    const welcome = mailParts((await until('the welcome e-mail', async () => (await mailsTo(service, email))[0]))!);
    password = /^Password: (\S+)$/m.exec(welcome.text)![1];
  });
  after(() => service.stop());

  test('without a session every page redirects to the login; the session cookie is HttpOnly, SameSite=Lax, scoped to /account', async () => {
    const visitor = new Visitor(service.url);
    for (const pathname of ['/account', '/account/password', `/account/registrations/${rid}/certificate.pdf`, `/account/registrations/${rid}/evidence.zip`]) {
      const answer = await visitor.request(pathname);
      assert.equal(answer.status, 303, pathname);
      assert.equal(answer.location, '/account/login', pathname);
    }
    const login = await visitor.logIn(email, password);
    assert.equal(login.status, 303);
    assert.equal(login.location, '/account');
    const sessionCookie = visitor.lastSetCookies.find((cookie) => cookie.startsWith('signet_session='));
    assert.ok(sessionCookie, visitor.lastSetCookies.join(' | '));
    assert.match(sessionCookie, /; HttpOnly/);
    assert.match(sessionCookie, /; SameSite=Lax/);
    assert.match(sessionCookie, /; Path=\/account/);
    assert.match(sessionCookie, /; Max-Age=\d+/);
    assert.doesNotMatch(sessionCookie, /Secure/, 'plain HTTP: a Secure cookie would never come back');
    const listing = await visitor.request('/account');
    assert.equal(listing.status, 200);
    assert.ok(listing.text.includes(rid));
    assert.equal(listing.headers.get('cache-control'), 'no-store');
    assert.match(listing.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
    const evidence = await visitor.request(`/account/registrations/${rid}/evidence.zip`);
    assert.equal(evidence.status, 200);
    assert.equal(evidence.headers.get('content-type'), 'application/zip');
    // Another account's registration is not there for this session.
    const otherRid = await register(service, 'Erin’s work', 'erin-1', 'erin@example.org', 'Erin work');
    assert.equal((await visitor.request(`/account/registrations/${otherRid}/certificate.pdf`)).status, 404);
  });

  test('every POST needs its CSRF token: login, password change and logout refuse a missing or foreign one', async () => {
    const visitor = new Visitor(service.url);
    await visitor.request('/account/login');
    assert.equal((await visitor.request('/account/login', { form: { email, password } })).status, 403);
    assert.equal((await visitor.request('/account/login', { form: { email, password, csrf: 'x'.repeat(32) } })).status, 403);
    // A form token from another visitor (another cookie) does not count either.
    const other = new Visitor(service.url);
    const foreign = Visitor.csrf((await other.request('/account/login')).text);
    assert.equal((await visitor.request('/account/login', { form: { email, password, csrf: foreign } })).status, 403);

    assert.equal((await visitor.logIn(email, password)).status, 303);
    const passwordPage = await visitor.request('/account/password');
    const token = Visitor.csrf(passwordPage.text);
    const change = { current: password, password: 'another long password', confirmation: 'another long password' };
    assert.equal((await visitor.request('/account/password', { form: change })).status, 403);
    assert.equal((await visitor.request('/account/password', { form: { ...change, csrf: foreign } })).status, 403);
    assert.equal((await visitor.request('/account/logout', { form: { csrf: foreign } })).status, 403);
    assert.equal((await visitor.request('/account')).status, 200, 'a refused logout leaves the session');
    const out = await visitor.request('/account/logout', { form: { csrf: token } });
    assert.equal(out.status, 303);
    assert.equal((await visitor.request('/account')).status, 303);
  });

  test('unknown address and wrong password get the same answer; a reset request answers the same for any address', async () => {
    const visitor = new Visitor(service.url);
    const unknown = await visitor.logIn('nobody@example.org', 'whatever-password');
    const wrong = await visitor.logIn(email, 'whatever-password');
    assert.equal(unknown.status, 401);
    assert.equal(wrong.status, 401);
    const scrub = (page: string) => page.replace(/value="[^"]*"/g, '');
    assert.equal(scrub(unknown.text), scrub(wrong.text));
    const ask = async (address: string) => {
      const page = await visitor.request('/account/reset');
      return visitor.request('/account/reset', { form: { csrf: Visitor.csrf(page.text), email: address } });
    };
    const forUnknown = await ask('nobody@example.org');
    const forKnown = await ask(email);
    assert.equal(forUnknown.status, 200);
    assert.equal(forUnknown.text, forKnown.text);
    // A used or made-up reset token opens nothing.
    const fake = await visitor.request('/account/reset?token=made-up');
    assert.equal(fake.status, 400);
    const page = await visitor.request('/account/reset');
    const post = await visitor.request('/account/reset', { form: { csrf: Visitor.csrf(page.text), token: 'made-up', password: 'long enough pass', confirmation: 'long enough pass' } });
    assert.equal(post.status, 400);
  });

  test('a few typos never lock anyone out; 20 failures in a row do (429 with Retry-After), even for the right password', async () => {
    const visitor = new Visitor(service.url);
    for (let i = 0; i < 3; i++) assert.equal((await visitor.logIn(email, `typo-${i}`)).status, 401);
    assert.equal((await visitor.logIn(email, password)).status, 303, 'three typos, then the right password');
    const guesser = new Visitor(service.url);
    for (let i = 0; i < 20; i++) assert.equal((await guesser.logIn(email, `guess-${i}`)).status, 401, `failure ${i + 1}`);
    const locked = await guesser.logIn(email, password);
    assert.equal(locked.status, 429);
    assert.ok(Number(locked.headers.get('retry-after')) > 60, String(locked.headers.get('retry-after')));
    assert.match(locked.text, /Try again after \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/);
    // The change form's current password is a guess like a login: locked too, even for the right one.
    const form = await visitor.request('/account/password');
    const change = await visitor.request('/account/password', {
      form: { csrf: Visitor.csrf(form.text), current: password, password: 'a different passphrase', confirmation: 'a different passphrase' },
    });
    assert.equal(change.status, 429, change.text);
    assert.match(change.text, /Too many wrong passwords/);
  });
});

describe('account sessions in the store: two instances on one PostgreSQL answer the same user', { skip: process.env.SIGNET_TEST_DATABASE_URL ? false : 'no SIGNET_TEST_DATABASE_URL' }, () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let first: TestService;
  let second: TestService;

  before(async () => {
    database = await createTestDatabase();
    first = await startTestService({ databaseUrl: database.url });
    second = await startTestService({ databaseUrl: database.url });
  });
  after(async () => {
    await first.stop();
    await second.stop();
    await database.drop();
  });

  test('logged in through one instance, listed and logged out through the other', async () => {
    const email = 'frank@example.org';
    const rid = await register(first, 'Frank’s work', 'frank-1', email, 'Frank work');
    const password = await until('the welcome e-mail', async () => {
      const mails = [...(await mailsTo(first, email)), ...(await mailsTo(second, email))];
      return mails[0] ? /^Password: (\S+)$/m.exec(mailParts(mails[0]).text)?.[1] : undefined;
    });
    const visitor = new Visitor(first.url);
    assert.equal((await visitor.logIn(email, password)).status, 303);
    const elsewhere = new Visitor(second.url);
    for (const [name, value] of visitor.cookies) elsewhere.cookies.set(name, value);
    const listing = await elsewhere.request('/account');
    assert.equal(listing.status, 200);
    assert.ok(listing.text.includes(rid));
    await elsewhere.request('/account/logout', { form: { csrf: Visitor.csrf(listing.text) } });
    assert.equal((await visitor.request('/account')).status, 303, 'logged out everywhere');
  });
});

for (const store of testStores()) {
  describe(`account store (${store})`, () => {
    test('60 login attempts at once: 20 go on to the password check, the 20th locks, 40 are refused; a success takes its IP count back', async () => {
      const { store: opened, close } = await openTestStore(store);
      try {
        const accounts = opened.accounts;
        const now = Date.now();
        const results = await Promise.all(Array.from({ length: 60 }, () => accounts.countLoginAttempt('email:x', now, 20, 900_000)));
        assert.equal(results.filter((result) => result.refusedUntil === undefined).length, 20);
        assert.equal(results.filter((result) => result.lockedNow).length, 1);
        assert.ok(results.every((result) => result.refusedUntil === undefined || result.refusedUntil === now + 900_000));
        // After the lock: one more attempt goes through (and locks again, as the 21st failure in a row).
        const later = now + 900_001;
        const again = await accounts.countLoginAttempt('email:x', later, 20, 900_000);
        assert.deepEqual(again, { lockedNow: true });
        // A success from a shared IP: its own attempt and the lock it set are taken back.
        const ip = await accounts.countLoginAttempt('ip:5.6.7.8', now, 1, 900_000);
        assert.equal(ip.lockedNow, true);
        await accounts.forgiveLoginAttempt('ip:5.6.7.8', true);
        assert.equal((await accounts.countLoginAttempt('ip:5.6.7.8', now + 1, 2, 900_000)).refusedUntil, undefined);
      } finally {
        await close();
      }
    });

    test('a reset link is used once even by two requests at the same moment; housekeeping removes only what ended', async () => {
      const { store: opened, close } = await openTestStore(store);
      try {
        const accounts = opened.accounts;
        const now = Date.now();
        await accounts.createPasswordReset({ token_hash: 'race', account_id: 'acc-1', created_at: now, expires_at: now + 60_000 });
        const winners = (await Promise.all(Array.from({ length: 8 }, () => accounts.usePasswordReset('race', now + 1)))).filter(Boolean);
        assert.deepEqual(winners, ['acc-1']);
        await accounts.createPasswordReset({ token_hash: 'stale', account_id: 'acc-1', created_at: now - 7_200_000, expires_at: now - 3_600_000 });
        assert.equal(await accounts.usePasswordReset('stale', now), undefined, 'an expired link opens nothing');

        await accounts.createSession({ id_hash: 'ended', account_id: 'acc-1', csrf_token: 't', created_at: now - 10_000, expires_at: now - 1 });
        await accounts.createSession({ id_hash: 'current', account_id: 'acc-1', csrf_token: 't', created_at: now, expires_at: now + 60_000 });
        assert.equal(await accounts.findSession('ended', now), undefined);
        await accounts.countLoginAttempt('email:old', now - 2 * 86_400_000, 20, 900_000);
        await accounts.countLoginAttempt('email:recent', now, 20, 900_000);
        const removed = await accounts.deleteExpired(now, now - 86_400_000);
        assert.equal(removed, 4, 'the ended session, both expired or used links and the old failure count');
        assert.ok(await accounts.findSession('current', now));
        const failures = await opened.database.db.selectFrom('login_failures').select('key').execute();
        assert.deepEqual(failures.map((row) => row.key), ['email:recent']);
      } finally {
        await close();
      }
    });
  });
}
