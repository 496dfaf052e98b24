import { SignetError } from '../../errors/signet-error.js';

const whiteSpace = /[\x20\t\r\n]+/g;
const hasWhiteSpace = /[\x20\t\r\n]/;
const base64Characters = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Decodes base64 text that arrives in pieces of any length (a streamed `xs:base64Binary` element):
 * each piece yields the bytes of its complete 4-character groups, the rest waits for the next piece.
 * White space anywhere is skipped (XML Schema's base64Binary allows it); padding only at the end.
 */
export class Base64PieceDecoder {
  private carry = '';
  private ended = false;

  constructor(private readonly field: string) {}

  decode(piece: string): Buffer {
    const clean = this.carry + (hasWhiteSpace.test(piece) ? piece.replace(whiteSpace, '') : piece);
    if (!clean) return Buffer.alloc(0);
    if (this.ended || !base64Characters.test(clean)) throw this.invalid();
    if (clean.endsWith('=')) {
      // Padding closes the data: the group it ends must be complete, and nothing may follow.
      if (clean.length % 4 !== 0) throw this.invalid();
      this.ended = true;
      this.carry = '';
      return Buffer.from(clean, 'base64');
    }
    const whole = clean.length - (clean.length % 4);
    this.carry = clean.slice(whole);
    return whole ? Buffer.from(clean.slice(0, whole), 'base64') : Buffer.alloc(0);
  }

  end(): Buffer {
    const rest = this.carry;
    this.carry = '';
    // Unpadded base64 (allowed by some encoders) ends with 2 or 3 characters; 1 is never valid.
    if (rest.length === 1) throw this.invalid();
    return rest ? Buffer.from(rest, 'base64') : Buffer.alloc(0);
  }

  private invalid(): SignetError {
    return new SignetError('invalid_base64', `${this.field} is not valid base64`, { field: this.field });
  }
}
