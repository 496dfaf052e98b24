import { SignetError, isSignetError } from '../../errors/signet-error.js';
import type { TimestampHash } from './oids.js';
import type { TimestampAuthority } from './timestamp-authority.js';
import type { TimestampClient } from './timestamp-client.js';

/**
 * The built-in TSA without HTTP: the default for B-T signatures and registrations when no `--tsa-url` is
 * configured. Tokens always carry the TSA certificate.
 */
export class InProcessTimestampClient implements TimestampClient {
  readonly name: string;
  readonly #authority: TimestampAuthority;

  constructor(authority: TimestampAuthority) {
    this.#authority = authority;
    this.name = authority.name;
  }

  async timestamp(digest: Buffer, hash: TimestampHash): Promise<Buffer> {
    try {
      return await this.#authority.issueToken(digest, hash);
    } catch (error) {
      // A wrong digest length is the caller's bug and stays a TypeError; a signing key that fails (an HSM
      // session dropped) is worth a retry, like an external TSA that is down.
      if (error instanceof TypeError || isSignetError(error)) throw error;
      throw new SignetError('tsa_unavailable', `The built-in TSA could not sign: ${(error as Error).message}`, {
        cause: error,
        transient: true,
      });
    }
  }
}
