import type { RegistrationRow } from '../../store/registration-repository.js';
import type { RegistrationKind } from '../../store/schema.js';

/** One proof of existence as the core tells it: the facts, the RFC 3161 token, and a handle on the bytes. */
export interface Registration {
  rid: string;
  taskId: string;
  kind: RegistrationKind;
  title: string | null;
  description: string | null;
  userId: string;
  userEmail: string;
  name: string;
  url: string | null;
  contentType: string;
  size: number;
  sha1: string;
  sha256: string;
  /** Base64 DER TimeStampToken, as stored. */
  timestampToken: string;
  tsa: string;
  /** Epoch milliseconds: the token's genTime. */
  registeredAt: number;
  /** URL registrations: what else the server said, with its own token. */
  capture: CaptureRecord | null;
  /** Opaque handle of the stored bytes (content, snapshots, certificate); only core uses it. */
  contentId: string;
}

/** Kept with a URL registration (capture_json): what else the server said, and a token over it. */
export interface CaptureRecord {
  finalUrl: string;
  redirects: string[];
  statusCode: number;
  /** Status line and response headers as received, CRLF-separated. */
  headers: string;
  headersSha256: string;
  /** RFC 3161 token (base64 DER) over SHA-256 of `headers`, so the headers are evidence too. */
  headersTimestampToken: string;
  /** With --capture-browser: the rendered page, each file time-stamped on its own. */
  snapshot?: { pdf: SnapshotFile; png: SnapshotFile };
  /** Why there is no snapshot although the browser is configured (the registration does not wait for it). */
  snapshotError?: string;
}

export interface SnapshotFile {
  size: number;
  sha256: string;
  /** RFC 3161 token (base64 DER) over `sha256`. */
  timestampToken: string;
}

export function toRegistration(row: RegistrationRow): Registration {
  return {
    rid: row.rid,
    taskId: row.task_id,
    kind: row.kind,
    title: row.title,
    description: row.description,
    userId: row.user_id,
    userEmail: row.user_email,
    name: row.name,
    url: row.url,
    contentType: row.content_type,
    size: row.size,
    sha1: row.sha1,
    sha256: row.sha256,
    timestampToken: row.timestamp_token,
    tsa: row.tsa,
    registeredAt: row.registered_at,
    capture: row.capture_json ? (JSON.parse(row.capture_json) as CaptureRecord) : null,
    contentId: row.blob_id,
  };
}
