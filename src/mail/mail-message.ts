import { randomBytes } from 'node:crypto';

export interface MailContent {
  from: string;
  to: string;
  subject: string;
  text: string;
  /** The same message as HTML: sent as multipart/alternative, the plain text first (RFC 2046 §5.1.4). */
  html?: string;
}

/**
 * One message in RFC 5322 form with MIME (RFC 2045): UTF-8 bodies in base64, a non-ASCII subject as
 * an RFC 2047 encoded word; plain text alone, or plain text and HTML as alternatives. The same bytes
 * go to SMTP or into an `.eml` file.
 */
export function composeMessage(content: MailContent, now = new Date()): string {
  const domain = /@([^>\s]+)>?$/.exec(content.from)?.[1] ?? 'signet.invalid';
  const headers = [
    `From: ${content.from}`,
    `To: ${content.to}`,
    `Subject: ${encodeHeader(content.subject)}`,
    `Date: ${now.toUTCString().replace('GMT', '+0000')}`,
    `Message-ID: <${randomBytes(12).toString('hex')}@${domain}>`,
    'MIME-Version: 1.0',
  ];
  if (content.html === undefined) return [...headers, ...bodyPart('text/plain', content.text), ''].join('\r\n');
  const boundary = `=_signet_${randomBytes(12).toString('hex')}`;
  return [
    ...headers,
    `Content-Type: multipart/alternative; boundary="${boundary}"`,
    '',
    `--${boundary}`,
    ...bodyPart('text/plain', content.text),
    `--${boundary}`,
    ...bodyPart('text/html', content.html),
    `--${boundary}--`,
    '',
  ].join('\r\n');
}

function bodyPart(type: 'text/plain' | 'text/html', text: string): string[] {
  const body = Buffer.from(text.replace(/\r?\n/g, '\r\n'), 'utf8').toString('base64').replace(/.{76}/g, '$&\r\n');
  return [`Content-Type: ${type}; charset=utf-8`, 'Content-Transfer-Encoding: base64', '', body];
}

function encodeHeader(value: string): string {
  return /^[\x20-\x7e]*$/.test(value) ? value : `=?UTF-8?B?${Buffer.from(value, 'utf8').toString('base64')}?=`;
}

/** The bare address of a From header value (`Name <a@b>` or `a@b`), for the SMTP envelope. */
export function envelopeAddress(header: string): string {
  return /<([^>]+)>/.exec(header)?.[1] ?? header.trim();
}
