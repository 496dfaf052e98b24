import type { Registration } from '../../core/registrations/registration.js';
import { escapeHtml } from '../../util/escape-html.js';

/**
 * The account pages' HTML (API.md §11): server-rendered, usable without JavaScript, every form with
 * its CSRF token. Every value from a user or a client system is escaped.
 */

export interface Notice {
  kind: 'error' | 'info';
  text: string;
}

const style =
  'body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}' +
  'nav{display:flex;gap:1rem;align-items:center;border-bottom:1px solid #ddd;padding-bottom:.5rem;margin-bottom:1rem}' +
  'nav form{margin-left:auto}label{display:block;margin:.6rem 0}input[type=email],input[type=password]{display:block;width:20rem;max-width:100%;padding:.3rem}' +
  'button{padding:.35rem .9rem}table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid #eee;vertical-align:top}' +
  '.error{background:#fde8e8;border:1px solid #e99;padding:.5rem}.info{background:#e8f4fd;border:1px solid #9ce;padding:.5rem}code{word-break:break-all}';

function layout(title: string, body: string, session?: { email: string; csrfToken: string }): string {
  const nav = session
    ? `<nav><a href="/account">My registrations</a><a href="/account/password">Change password</a>
<form method="post" action="/account/logout"><input type="hidden" name="csrf" value="${escapeHtml(session.csrfToken)}"><span>${escapeHtml(session.email)}</span> <button type="submit">Log out</button></form></nav>`
    : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} — Signet</title><style>${style}</style></head>
<body>${nav}<h1>${escapeHtml(title)}</h1>
${body}
</body></html>`;
}

function notice(value?: Notice): string {
  return value ? `<p class="${value.kind}" role="${value.kind === 'error' ? 'alert' : 'status'}">${escapeHtml(value.text)}</p>` : '';
}

const csrfField = (token: string) => `<input type="hidden" name="csrf" value="${escapeHtml(token)}">`;

export function loginPage(csrfToken: string, options: { email?: string; notice?: Notice } = {}): string {
  return layout(
    'Log in',
    `${notice(options.notice)}
<p>Log in with the e-mail address your registrations were made for and the password Signet e-mailed you.</p>
<form method="post" action="/account/login">${csrfField(csrfToken)}
<label>E-mail address <input type="email" name="email" autocomplete="username" required value="${escapeHtml(options.email ?? '')}"></label>
<label>Password <input type="password" name="password" autocomplete="current-password" required></label>
<button type="submit">Log in</button>
</form>
<p><a href="/account/reset">Forgot your password?</a></p>`,
  );
}

export function registrationsPage(
  session: { email: string; csrfToken: string },
  registrations: readonly Registration[],
  pages: { next: string | null; first: boolean },
  publicBase: string,
): string {
  const rows = registrations
    .map((registration) => {
      const base = `/account/registrations/${encodeURIComponent(registration.rid)}`;
      const object = registration.kind === 'url' && registration.url ? `URL: ${registration.url}` : `File: ${registration.name}`;
      return `<tr>
<td><a href="${escapeHtml(`${publicBase}/r/${registration.rid}`)}"><code>${escapeHtml(registration.rid)}</code></a></td>
<td>${escapeHtml(registration.title ?? '—')}</td>
<td><time datetime="${new Date(registration.registeredAt).toISOString()}">${escapeHtml(utc(registration.registeredAt))}</time></td>
<td>${escapeHtml(object)}<br><small>${registration.size} bytes, SHA-256 <code>${escapeHtml(registration.sha256)}</code></small></td>
<td><a href="${base}/certificate.pdf">certificate.pdf</a><br><a href="${base}/evidence.zip">evidence.zip</a></td>
</tr>`;
    })
    .join('\n');
  const table = registrations.length
    ? `<table><thead><tr><th>RID</th><th>Title</th><th>Registered at</th><th>What</th><th>Downloads</th></tr></thead><tbody>
${rows}
</tbody></table>`
    : `<p>${pages.first ? 'Nothing is registered in your name yet.' : 'No older registrations.'}</p>`;
  const paging = [pages.first ? '' : '<a href="/account">Newest</a>', pages.next ? `<a href="/account?after=${encodeURIComponent(pages.next)}">Older →</a>` : '']
    .filter(Boolean)
    .join(' · ');
  return layout(
    'My registrations',
    `<p>Everything registered in your name, newest first. The RID opens the public page anyone can check; the certificate is a signed PDF, the evidence package lets a third party verify the registration with openssl alone.</p>
${table}
${paging ? `<p>${paging}</p>` : ''}`,
    session,
  );
}

export function passwordPage(session: { email: string; csrfToken: string }, value?: Notice): string {
  return layout(
    'Change password',
    `${notice(value)}
<form method="post" action="/account/password">${csrfField(session.csrfToken)}
<label>Current password <input type="password" name="current" autocomplete="current-password" required></label>
<label>New password (at least 10 characters) <input type="password" name="password" autocomplete="new-password" minlength="10" required></label>
<label>New password again <input type="password" name="confirmation" autocomplete="new-password" minlength="10" required></label>
<button type="submit">Change password</button>
</form>`,
    session,
  );
}

export function resetRequestPage(csrfToken: string, value?: Notice): string {
  return layout(
    'Forgot your password?',
    `${notice(value)}
<p>Give the e-mail address of your account: a link to choose a new password is e-mailed to it, valid for one hour and usable once.</p>
<form method="post" action="/account/reset">${csrfField(csrfToken)}
<label>E-mail address <input type="email" name="email" autocomplete="username" required></label>
<button type="submit">Send the link</button>
</form>
<p><a href="/account/login">Back to the login</a></p>`,
  );
}

export function resetFormPage(csrfToken: string, token: string, value?: Notice): string {
  return layout(
    'Choose a new password',
    `${notice(value)}
<form method="post" action="/account/reset">${csrfField(csrfToken)}<input type="hidden" name="token" value="${escapeHtml(token)}">
<label>New password (at least 10 characters) <input type="password" name="password" autocomplete="new-password" minlength="10" required></label>
<label>New password again <input type="password" name="confirmation" autocomplete="new-password" minlength="10" required></label>
<button type="submit">Set the new password</button>
</form>`,
  );
}

export function messagePage(title: string, value: Notice, link?: { href: string; text: string }, session?: { email: string; csrfToken: string }): string {
  return layout(title, `${notice(value)}${link ? `<p><a href="${escapeHtml(link.href)}">${escapeHtml(link.text)}</a></p>` : ''}`, session);
}

export function utc(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}
