import { randomBytes } from 'node:crypto';

export interface MailContent {
  from: string;
  to: string;
  subject: string;
  text: string;
}

/**
 * One plain-text message in RFC 5322 form with MIME (RFC 2045): UTF-8 body in base64, non-ASCII
 * subject as an RFC 2047 encoded word. The same bytes go to SMTP or into an `.eml` file.
 */
export function composeMessage(content: MailContent, now = new Date()): string {
  const domain = /@([^>\s]+)>?$/.exec(content.from)?.[1] ?? 'signet.invalid';
  const body = Buffer.from(content.text.replace(/\r?\n/g, '\r\n'), 'utf8').toString('base64').replace(/.{76}/g, '$&\r\n');
  return [
    `From: ${content.from}`,
    `To: ${content.to}`,
    `Subject: ${encodeHeader(content.subject)}`,
    `Date: ${now.toUTCString().replace('GMT', '+0000')}`,
    `Message-ID: <${randomBytes(12).toString('hex')}@${domain}>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: base64',
    '',
    body,
    '',
  ].join('\r\n');
}

function encodeHeader(value: string): string {
  return /^[\x20-\x7e]*$/.test(value) ? value : `=?UTF-8?B?${Buffer.from(value, 'utf8').toString('base64')}?=`;
}

/** The bare address of a From header value (`Name <a@b>` or `a@b`), for the SMTP envelope. */
export function envelopeAddress(header: string): string {
  return /<([^>]+)>/.exec(header)?.[1] ?? header.trim();
}
