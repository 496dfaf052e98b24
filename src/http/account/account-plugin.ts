import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { getAccountRegistration, listAccountRegistrations } from '../../core/accounts/account-registrations.js';
import { changePassword, completePasswordReset, isResetTokenUsable, requestPasswordReset } from '../../core/accounts/account-passwords.js';
import { logIn, logOut, resolveSession, SESSION_TTL_MS, type AccountSession } from '../../core/accounts/account-sessions.js';
import type { CoreContext } from '../../core/core-context.js';
import { registrationCertificate } from '../../core/registrations/certificate-pdf.js';
import { evidencePackage } from '../../core/registrations/evidence-package.js';
import { publicBaseUrl } from '../../core/registrations/registration-settings.js';
import { isSignetError, SignetError } from '../../errors/signet-error.js';
import { toProblem } from '../problem.js';
import { loginPage, messagePage, passwordPage, registrationsPage, resetFormPage, resetRequestPage, utc } from './account-pages.js';
import { readCookies, setCookie } from './cookies.js';

const SESSION_COOKIE = 'signet_session';
/** Forms shown before login (login, reset) carry a token that must equal this cookie's value (double submit). */
const FORM_COOKIE = 'signet_form';
const COOKIE_PATH = '/account';

type Form = Record<string, string | undefined>;

/**
 * The end-user account pages (API.md §11), an adapter over core/accounts: login with the e-mailed
 * password, the user's registrations with their downloads, password change, reset by e-mail, logout.
 * Sessions live in the store (any instance answers); every POST checks a CSRF token — the session's,
 * or before login a double-submit cookie; errors are pages, never JSON.
 */
export const accountPlugin: FastifyPluginAsync<{ context: CoreContext }> = async (app, { context }) => {
  const publicBase = () => publicBaseUrl(context.registrations, context.host);
  const secure = publicBase().startsWith('https:');

  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 16 * 1024 }, (_request, body, done) => {
    const form: Form = {};
    for (const [name, value] of new URLSearchParams(body as string)) form[name] ??= value;
    done(null, form);
  });

  app.addHook('onSend', async (_request, reply) => {
    reply
      .header('Cache-Control', 'no-store')
      .header('X-Frame-Options', 'DENY')
      .header('X-Content-Type-Options', 'nosniff')
      // The reset page's URL holds the token: it is never sent on as a Referer.
      .header('Referrer-Policy', 'no-referrer')
      .header('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
  });

  app.setErrorHandler((error, request, reply) => {
    const problem = toProblem(error);
    if (problem.status >= 500) request.log.error({ err: error }, 'account page failed');
    return html(reply.code(problem.status), messagePage('Something went wrong', { kind: 'error', text: problem.detail }, { href: '/account', text: 'Back to your account' }));
  });

  const html = (reply: FastifyReply, page: string) => reply.type('text/html; charset=utf-8').send(page);
  const toLogin = (reply: FastifyReply) => reply.redirect('/account/login', 303);

  const sessionOf = (request: FastifyRequest) => resolveSession(context, readCookies(request.headers.cookie).get(SESSION_COOKIE));

  /** The anonymous forms' token: the cookie's value, set now when absent. */
  const formToken = (request: FastifyRequest, reply: FastifyReply): string => {
    const existing = readCookies(request.headers.cookie).get(FORM_COOKIE);
    if (existing && /^[A-Za-z0-9_-]{32}$/.test(existing)) return existing;
    const token = randomBytes(24).toString('base64url');
    reply.header('Set-Cookie', setCookie(FORM_COOKIE, token, { maxAgeSeconds: 2 * 60 * 60, secure, path: COOKIE_PATH }));
    return token;
  };
  const checkFormToken = (request: FastifyRequest, form: Form) => {
    if (!sameToken(readCookies(request.headers.cookie).get(FORM_COOKIE), form.csrf)) throw new SignetError('csrf_failed');
  };
  const checkSessionToken = (session: AccountSession, form: Form) => {
    if (!sameToken(session.csrfToken, form.csrf)) throw new SignetError('csrf_failed');
  };

  app.get('/account/login', { schema: { hide: true } }, async (request, reply) => {
    if (await sessionOf(request)) return reply.redirect('/account', 303);
    return html(reply, loginPage(formToken(request, reply)));
  });

  app.post<{ Body: Form }>('/account/login', { schema: { hide: true } }, async (request, reply) => {
    const form = request.body ?? {};
    checkFormToken(request, form);
    const email = (form.email ?? '').trim();
    const result = await logIn(context, { email, password: form.password ?? '', ip: request.ip });
    if (result.ok) {
      return reply
        .header('Set-Cookie', setCookie(SESSION_COOKIE, result.sessionId, { maxAgeSeconds: SESSION_TTL_MS / 1000, secure, path: COOKIE_PATH }))
        .redirect('/account', 303);
    }
    const token = formToken(request, reply);
    if (result.reason === 'locked') {
      const seconds = Math.max(1, Math.ceil((result.until - Date.now()) / 1000));
      const text = `Too many failed logins in a row for this address or from this network. Try again after ${utc(result.until)}, or choose a new password through “Forgot your password?”.`;
      return html(reply.code(429).header('Retry-After', String(seconds)), loginPage(token, { email, notice: { kind: 'error', text } }));
    }
    // The same answer whether the address is unknown or the password wrong.
    return html(reply.code(401), loginPage(token, { email, notice: { kind: 'error', text: 'Wrong e-mail address or password.' } }));
  });

  app.post<{ Body: Form }>('/account/logout', { schema: { hide: true } }, async (request, reply) => {
    const session = await sessionOf(request);
    if (session) {
      checkSessionToken(session, request.body ?? {});
      await logOut(context, session);
    }
    return reply.header('Set-Cookie', setCookie(SESSION_COOKIE, '', { maxAgeSeconds: 0, secure, path: COOKIE_PATH })).redirect('/account/login', 303);
  });

  app.get<{ Querystring: { after?: string | string[] } }>('/account', { schema: { hide: true } }, async (request, reply) => {
    const session = await sessionOf(request);
    if (!session) return toLogin(reply);
    const after = typeof request.query.after === 'string' && request.query.after !== '' ? request.query.after : undefined;
    const page = await listAccountRegistrations(context, session, after);
    return html(reply, registrationsPage(session, page.items, { next: page.nextCursor, first: after === undefined }, publicBase()));
  });

  // The downloads the registrations page links to, with the session alone.
  const downloads = [
    { file: 'certificate.pdf', type: 'application/pdf', name: (rid: string) => `certificate-${rid}.pdf`, produce: registrationCertificate },
    { file: 'evidence.zip', type: 'application/zip', name: (rid: string) => `evidence-${rid}.zip`, produce: evidencePackage },
  ] as const;
  for (const download of downloads) {
    app.get<{ Params: { rid: string } }>(`/account/registrations/:rid/${download.file}`, { schema: { hide: true } }, async (request, reply) => {
      const session = await sessionOf(request);
      if (!session) return toLogin(reply);
      const registration = await getAccountRegistration(context, session, request.params.rid);
      return reply
        .type(download.type)
        .header('Content-Disposition', `attachment; filename="${download.name(registration.rid)}"`)
        .send(await download.produce(context, registration));
    });
  }

  app.get('/account/password', { schema: { hide: true } }, async (request, reply) => {
    const session = await sessionOf(request);
    if (!session) return toLogin(reply);
    return html(reply, passwordPage(session));
  });

  app.post<{ Body: Form }>('/account/password', { schema: { hide: true } }, async (request, reply) => {
    const session = await sessionOf(request);
    if (!session) return toLogin(reply);
    const form = request.body ?? {};
    checkSessionToken(session, form);
    try {
      await changePassword(context, session, { current: form.current ?? '', password: form.password ?? '', confirmation: form.confirmation ?? '', ip: request.ip });
    } catch (error) {
      if (!isSignetError(error) || error.status >= 500) throw error;
      return html(reply.code(error.status), passwordPage(session, { kind: 'error', text: error.message }));
    }
    return html(reply, passwordPage(session, { kind: 'info', text: 'Your password was changed. Your other sessions were logged out.' }));
  });

  app.get<{ Querystring: { token?: string | string[] } }>('/account/reset', { schema: { hide: true } }, async (request, reply) => {
    const token = formToken(request, reply);
    const resetToken = request.query.token;
    if (resetToken === undefined) return html(reply, resetRequestPage(token));
    // ?token=a&token=b arrives as a list: no link has two tokens.
    if (typeof resetToken !== 'string' || !(await isResetTokenUsable(context, resetToken))) {
      return html(reply.code(400), resetRequestPage(token, { kind: 'error', text: 'This reset link has expired or was used already. Ask for a new one below.' }));
    }
    return html(reply, resetFormPage(token, resetToken));
  });

  app.post<{ Body: Form }>('/account/reset', { schema: { hide: true } }, async (request, reply) => {
    const form = request.body ?? {};
    checkFormToken(request, form);
    const token = formToken(request, reply);
    if (form.token === undefined) {
      await requestPasswordReset(context, form.email ?? '');
      // Said whether or not the address has an account: the answer tells nobody which addresses do.
      return html(reply, messagePage('Check your e-mail', { kind: 'info', text: 'If an account exists for this address, an e-mail with a link to choose a new password is on its way. The link is valid for one hour and works once.' }, { href: '/account/login', text: 'Back to the login' }));
    }
    try {
      await completePasswordReset(context, { token: form.token, password: form.password ?? '', confirmation: form.confirmation ?? '' });
    } catch (error) {
      if (!isSignetError(error) || error.status >= 500) throw error;
      if (error.code === 'reset_link_invalid') return html(reply.code(400), resetRequestPage(token, { kind: 'error', text: error.message }));
      return html(reply.code(error.status), resetFormPage(token, form.token, { kind: 'error', text: error.message }));
    }
    return html(reply, messagePage('Password changed', { kind: 'info', text: 'Your new password is set; every session of the account was logged out.' }, { href: '/account/login', text: 'Log in' }));
  });
};

function sameToken(expected: string | undefined, presented: string | undefined): boolean {
  if (!expected || !presented) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(presented);
  return a.length === b.length && timingSafeEqual(a, b);
}
