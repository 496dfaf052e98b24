/** What registrations need beyond the common context; built once by the composition root. */
export interface RegistrationSettings {
  /** `--public-url`, without a trailing slash; absent: `http://<host>` of this instance. */
  publicUrl?: string;
  /** The trust anchors (PEM) a relying party needs for the TSA's tokens: GET /pki/ca.pem. */
  trustAnchorsPem: string;
  /** The From address of account e-mails. */
  mailFrom: string;
  /** Tells the mail sender that a message is waiting (it also polls). */
  onMailQueued(): void;
}

export function publicBaseUrl(settings: RegistrationSettings, host: string): string {
  return settings.publicUrl ?? `http://${host}`;
}
