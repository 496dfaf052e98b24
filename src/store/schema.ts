import type { ColumnType, Generated } from 'kysely';

/**
 * The tables, as Kysely sees them. Times are Unix milliseconds in BIGINT columns: one
 * representation on SQLite and PostgreSQL, cheap to compare in the claim query.
 */
export interface Database {
  signet_migrations: MigrationTable;
  settings: SettingTable;
  tasks: TaskTable;
  task_events: TaskEventTable;
  documents: DocumentTable;
  blob_chunks: BlobChunkTable;
  deliveries: DeliveryTable;
  delivery_attempts: DeliveryAttemptTable;
  signstash_operations: SignstashOperationTable;
  user_accounts: UserAccountTable;
  user_ids: UserIdTable;
  registrations: RegistrationTable;
  mail_outbox: MailOutboxTable;
  validation_data: ValidationDataTable;
  account_sessions: AccountSessionTable;
  password_resets: PasswordResetTable;
  login_failures: LoginFailureTable;
}

/** A logged-in end user (API.md §11); the cookie holds the id, the table its SHA-256. */
export interface AccountSessionTable {
  id_hash: string;
  account_id: string;
  /** Every form of the session carries it. */
  csrf_token: string;
  created_at: number;
  expires_at: number;
}

/** A single-use password-reset link (the token's SHA-256), valid until `expires_at`. */
export interface PasswordResetTable {
  token_hash: string;
  account_id: string;
  created_at: number;
  expires_at: number;
  used_at: number | null;
}

/** Failed logins in a row, per e-mail address and per client IP (`email:…`, `ip:…`). */
export interface LoginFailureTable {
  key: string;
  failures: number;
  locked_until: number | null;
  updated_at: number;
}

/** An OCSP response, CRL or certificate fetched from a CA, current until `valid_until`. */
export interface ValidationDataTable {
  key: string;
  body: Buffer;
  fetched_at: number;
  valid_until: number;
}

export interface MigrationTable {
  version: number;
  name: string;
  applied_at: number;
}

export interface SettingTable {
  key: string;
  value: string;
}

export type TaskStatus = 'PENDING' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'CANCELLED';
export const TASK_KINDS = ['sign', 'register-file', 'register-url'] as const;
export type TaskKind = (typeof TASK_KINDS)[number];

export interface TaskTable {
  id: string;
  client_id: string;
  kind: TaskKind;
  status: TaskStatus;
  external_reference: string | null;
  /** SHA-256 over the request and its contents: tells an idempotent replay from a conflicting reuse. */
  request_fingerprint: string;
  /** The request's options as JSON (never document content). */
  request_json: string;
  description: string | null;
  callback_url: string | null;
  host: string;
  attempts: number;
  max_attempts: number;
  run_at: number;
  lease_owner: string | null;
  lease_until: number | null;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  error_code: string | null;
  error_message: string | null;
  result_json: string | null;
  /** Signature operations: when `--retention` deleted their documents' bytes (the record stays). */
  purged_at: ColumnType<number | null, never, number | null>;
}

/** An append-only log of state changes; lets tests and operators see each transition once. */
export interface TaskEventTable {
  id: Generated<number>;
  task_id: string;
  at: number;
  event: string;
  attempt: number;
  detail: string | null;
}

export type DocumentStatus = 'RECEIVED' | 'SIGNED' | 'FAILED';

export interface DocumentTable {
  id: string;
  task_id: string;
  client_id: string;
  position: number;
  external_reference: string | null;
  name: string;
  content_type: string;
  format: string;
  level: string;
  options_json: string;
  status: DocumentStatus;
  error_code: string | null;
  error_message: string | null;
  size: number;
  sha256: string;
  signed_size: number | null;
  signed_at: number | null;
  /** When `--retention` deleted this document's bytes (input and signed output). */
  purged_at: ColumnType<number | null, never, number | null>;
}

/** Document bytes in PostgreSQL mode, in chunks so that neither side holds a whole document. */
export interface BlobChunkTable {
  blob_key: string;
  seq: number;
  /** NULL only on the marker chunk 0 of a blob that begins with another (migration 013). */
  data: Buffer | null;
  /** On the marker chunk 0 only: the blob whose whole bytes come before this blob's own chunks (migration 013). */
  prefix_key: ColumnType<string | null, string | null | undefined, string | null>;
}

export type DeliveryStatus = 'PENDING' | 'DELIVERED' | 'FAILED';

/** One callback message (a task's final state) and where its retries stand. */
export interface DeliveryTable {
  /** Also the `webhook-id`: stable across retries. */
  id: string;
  task_id: string;
  client_id: string;
  url: string;
  /** host:port of the URL: the runner limits concurrency per receiver. */
  host: string;
  event_type: string;
  /** The exact body, fixed when the task finished, so every retry sends the same bytes. */
  body: string;
  status: DeliveryStatus;
  attempts: number;
  next_attempt_at: number | null;
  lease_owner: string | null;
  lease_until: number | null;
  created_at: number;
  finished_at: number | null;
}

export interface DeliveryAttemptTable {
  id: Generated<number>;
  delivery_id: string;
  attempted_at: number;
  url: string;
  status_code: number | null;
  error: string | null;
  duration_ms: number;
}

/** A person of one client service: e-mail as login, password only as a slow hash (API.md §4). */
export interface UserAccountTable {
  id: string;
  client_id: string;
  email: string;
  /** Lowercased e-mail, unique per client: step 2 links by it. */
  email_key: string;
  password_hash: string;
  created_at: number;
}

/** A client system's user id, linked to one account. */
export interface UserIdTable {
  client_id: string;
  user_id: string;
  account_id: string;
  created_at: number;
}

export type RegistrationKind = 'file' | 'url';

/** One proof of existence: hashes, the RFC 3161 token, and where the content is. */
export interface RegistrationTable {
  rid: string;
  task_id: string;
  client_id: string;
  account_id: string;
  user_id: string;
  user_email: string;
  kind: RegistrationKind;
  title: string | null;
  description: string | null;
  name: string;
  url: string | null;
  content_type: string;
  blob_id: string;
  size: number;
  sha1: string;
  sha256: string;
  /** Base64 DER TimeStampToken. */
  timestamp_token: string;
  tsa: string;
  registered_at: number;
  /** URL registrations: final URL, redirects, status, response headers and their own token (JSON). */
  capture_json: string | null;
  created_at: number;
}

export type MailStatus = 'PENDING' | 'SENT';

export interface MailOutboxTable {
  id: string;
  client_id: string;
  recipient: string;
  message: string;
  status: MailStatus;
  attempts: number;
  next_attempt_at: number;
  lease_until: number | null;
  last_error: string | null;
  created_at: number;
  sent_at: number | null;
}

/** Sign'Stash numeric operation ids (a Java Long) ↔ task ids (migration 004). */
export interface SignstashOperationTable {
  id: Generated<number>;
  task_id: string;
  client_id: string;
  created_at: number;
}
