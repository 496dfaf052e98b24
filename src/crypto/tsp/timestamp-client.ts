/**
 * Obtains RFC 3161 time-stamp tokens. Same shape as a Signer ("digest in, token out"): the built-in
 * authority answers in-process, an external TSA over HTTP (`--tsa-url`); signing code above does not
 * know which.
 */
export interface TimestampClient {
  /** Where the tokens come from, for logs and GetRegistrationInfo's `proof.tsa`. */
  readonly name: string;
  /**
   * A TimeStampToken (DER ContentInfo holding SignedData with TSTInfo) whose messageImprint is
   * `digest`. An unreachable or failing TSA throws a transient SignetError, so the task is retried
   * later rather than signed below the requested level.
   */
  timestamp(digest: Buffer, hash: 'sha256' | 'sha384' | 'sha512'): Promise<Buffer>;
  /** The token and the name of the TSA that gave it, for a client that asks one of several (failover-timestamp-client.ts). */
  timestampFrom?(digest: Buffer, hash: 'sha256' | 'sha384' | 'sha512'): Promise<{ token: Buffer; tsa: string }>;
}

/** A token and where it came from, whatever the client. */
export async function timestampWithSource(client: TimestampClient, digest: Buffer, hash: 'sha256' | 'sha384' | 'sha512'): Promise<{ token: Buffer; tsa: string }> {
  if (client.timestampFrom) return client.timestampFrom(digest, hash);
  return { token: await client.timestamp(digest, hash), tsa: client.name };
}
