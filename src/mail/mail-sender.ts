import type { MailOutboxRepository } from '../store/user-repository.js';
import type { Logger } from '../util/logger.js';
import { envelopeAddress } from './mail-message.js';
import type { MailTransport } from './mail-transport.js';
import { currentTimeMs } from '../util/clock.js';

/** Delays after failed attempts: an SMTP outage delays mail, it never loses or blocks anything. */
const RETRY_DELAYS_MS = [5_000, 30_000, 120_000, 600_000, 1_800_000, 3_600_000];

/**
 * Sends what the mail outbox holds, one message at a time (account e-mails are rare), woken when a
 * message is queued and polling as a safety net (another instance may have queued it).
 */
export class MailSender {
  private stopped = true;
  private loop?: Promise<void>;
  private wakeUp?: () => void;

  constructor(
    private readonly options: {
      outbox: MailOutboxRepository;
      transport: MailTransport;
      from: string;
      log: Logger;
      pollIntervalMs?: number;
      leaseMs?: number;
      retryDelaysMs?: readonly number[];
    },
  ) {}

  start(): void {
    this.stopped = false;
    this.loop = this.run();
  }

  wake(): void {
    this.wakeUp?.();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake();
    await this.loop;
    this.options.transport.close();
  }

  private async run(): Promise<void> {
    const { outbox, transport, log } = this.options;
    const leaseMs = this.options.leaseMs ?? 120_000;
    const delays = this.options.retryDelaysMs ?? RETRY_DELAYS_MS;
    while (!this.stopped) {
      let mail;
      try {
        mail = await outbox.claimDue(leaseMs);
      } catch (error) {
        log.error({ err: (error as Error).message }, 'claiming an e-mail failed');
      }
      if (!mail) {
        await this.idle();
        continue;
      }
      try {
        await transport.send({ id: mail.id, from: envelopeAddress(this.options.from), to: mail.recipient, raw: mail.message });
        await outbox.markSent(mail);
        log.info({ mailId: mail.id, transport: transport.name }, 'account e-mail sent');
      } catch (error) {
        const delay = delays[Math.min(mail.attempts, delays.length - 1)];
        log.warn({ mailId: mail.id, err: (error as Error).message, retryInMs: delay }, 'sending an e-mail failed; retrying later');
        await outbox.retryLater(mail, currentTimeMs() + delay, (error as Error).message).catch(() => {});
      }
    }
  }

  private async idle(): Promise<void> {
    const pollMs = this.options.pollIntervalMs ?? 2000;
    const next = await this.options.outbox.nextDueAt().catch(() => undefined);
    const delay = next === undefined ? pollMs : Math.max(10, Math.min(pollMs, next - currentTimeMs()));
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, delay);
      this.wakeUp = done;
      function done() {
        clearTimeout(timer);
        resolve();
      }
    });
    this.wakeUp = undefined;
  }
}
