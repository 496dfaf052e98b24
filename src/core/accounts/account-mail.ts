import { escapeHtml } from '../../util/escape-html.js';

/** What an account e-mail says, as plain text and as HTML (both complete on their own). */
export interface AccountMail {
  subject: string;
  text: string;
  html: string;
}

/**
 * The welcome e-mail of a new account (API.md §4 and §11): what the account is for, the login link,
 * and a line `Password: <password>` (the only place the generated password ever appears).
 */
export function welcomeMail(email: string, password: string, publicBase: string): AccountMail {
  const login = `${publicBase}/account/login`;
  const text = [
    'Hello,',
    '',
    'a work was registered in your name with Signet, a registration service that proves a file or a',
    'web page existed at a given time and was deposited by you. An account was created for you so that',
    'you can see everything registered in your name, with its certificate and its evidence package.',
    '',
    `Log in at:  ${login}`,
    `Login:      ${email}`,
    `Password: ${password}`,
    '',
    'Keep this password private; you can change it once logged in. Each registration also has a',
    `public page at ${publicBase}/r/<RID> where anyone can check it.`,
    '',
    '-- Signet',
  ].join('\n');
  const html = page(
    'Your Signet account',
    `<p>Hello,</p>
<p>a work was registered in your name with Signet, a registration service that proves a file or a web page existed at a given time and was deposited by you. An account was created for you so that you can see everything registered in your name, with its certificate and its evidence package.</p>
<p><a href="${escapeHtml(login)}">Log in to your account</a></p>
<table>
<tr><td>Login:</td><td>${escapeHtml(email)}</td></tr>
<tr><td>Password:</td><td><code>${escapeHtml(password)}</code></td></tr>
</table>
<p>Keep this password private; you can change it once logged in. Each registration also has a public page at ${escapeHtml(publicBase)}/r/&lt;RID&gt; where anyone can check it.</p>`,
  );
  return { subject: 'Your Signet account', text, html };
}

/** The password-reset e-mail: a single-use link, valid for an hour. */
export function passwordResetMail(email: string, link: string, validMinutes: number): AccountMail {
  const text = [
    'Hello,',
    '',
    `someone (hopefully you) asked to choose a new password for the Signet account ${email}.`,
    `Open this link within ${validMinutes} minutes to choose it; it works once:`,
    '',
    link,
    '',
    'If you did not ask for this, ignore this e-mail: your password stays as it is.',
    '',
    '-- Signet',
  ].join('\n');
  const html = page(
    'Choose a new password',
    `<p>Hello,</p>
<p>someone (hopefully you) asked to choose a new password for the Signet account ${escapeHtml(email)}.</p>
<p><a href="${escapeHtml(link)}">Choose a new password</a> — within ${validMinutes} minutes; the link works once.</p>
<p>If you did not ask for this, ignore this e-mail: your password stays as it is.</p>`,
  );
  return { subject: 'Choose a new Signet password', text, html };
}

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>
<body style="font-family: sans-serif; line-height: 1.5">
${body}
<p>-- Signet</p>
</body></html>`;
}
