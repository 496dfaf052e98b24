import { mkdir, open, rename } from 'node:fs/promises';
import path from 'node:path';
import type { Transporter } from 'nodemailer';

/** Delivers one composed message; throws when it could not (the outbox retries later). */
export interface MailTransport {
  readonly name: string;
  send(message: { id: string; from: string; to: string; raw: string }): Promise<void>;
  close(): void;
}

/**
 * SMTP (`--smtp-url smtp://user:pass@host:port`, `smtps://` for implicit TLS) through nodemailer,
 * loaded on the first message (12 MB of RSS that instances without SMTP need not carry).
 */
export function smtpTransport(url: string, timeoutMs = 30_000): MailTransport {
  let transporter: Promise<Transporter> | undefined;
  const open = async (): Promise<Transporter> => {
    const nodemailer = (await import('nodemailer')).default;
    // Options with `url` (parsed like the string form) so the timeouts apply to the transport itself.
    return nodemailer.createTransport({ url, connectionTimeout: timeoutMs, greetingTimeout: timeoutMs, socketTimeout: timeoutMs } as object);
  };
  return {
    name: 'smtp',
    async send(message) {
      transporter ??= open();
      await (await transporter).sendMail({ envelope: { from: message.from, to: [message.to] }, raw: message.raw });
    },
    close() {
      void transporter?.then((t) => t.close()).catch(() => {});
    },
  };
}

/**
 * No SMTP configured: each message becomes `<work>/outbox/<id>.eml`, written under a temporary name,
 * fsynced and renamed, so a reader never sees half a message. The id makes a repeated send overwrite.
 */
export function outboxFolderTransport(folder: string): MailTransport {
  return {
    name: 'outbox',
    async send(message) {
      await mkdir(folder, { recursive: true });
      const target = path.join(folder, `${message.id}.eml`);
      const temporary = `${target}.tmp`;
      const handle = await open(temporary, 'w', 0o600);
      try {
        await handle.writeFile(message.raw);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temporary, target);
    },
    close() {},
  };
}
