import { randomFillSync } from 'node:crypto';
import { unsignedInteger } from '../cms/der-integer.js';

/**
 * Token serial numbers (RFC 3161 §2.4.2: unique per TSA, verifiers must take up to 160 bits).
 *
 * 128 bits laid out like a UUIDv7: 48-bit Unix milliseconds ‖ 16-bit per-process counter ‖ 64 random bits.
 * - Unique within a process by construction (time never goes back here, the counter runs within one ms),
 *   and across instances sharing the TSA key because two of them would need the same millisecond, the same
 *   counter and the same 64 random bits (2⁻⁶⁴).
 * - A pure 64-bit random serial was the other candidate: with a billion tokens the birthday bound gives a
 *   ~3 % chance of one collision somewhere, too much for an identifier that must be unique.
 * - Positive and minimal in DER without padding: the first octet is the top of the millisecond count,
 *   0x01 from 2004 to 2039 (0x01..0x7f until the year 10889), so 16 content octets, no leading 00.
 * - Time-ordered, which makes serials readable in logs; they reveal nothing genTime does not already.
 */
export class SerialNumberGenerator {
  #lastMs = 0;
  #counter = 0;
  /** Random bytes are drawn 8 KB at a time: one randomFillSync per 1,024 serials instead of one each. */
  #pool = Buffer.alloc(8192);
  #poolOffset = this.#pool.length;

  /** The next serial, encoded as a DER INTEGER (tag, length, content). */
  next(now = Date.now()): Buffer {
    if (now > this.#lastMs) {
      this.#lastMs = now;
      this.#counter = 0;
    } else if (++this.#counter > 0xffff) {
      // More than 65,536 serials in one millisecond, or the clock went back: borrow the next millisecond.
      this.#lastMs++;
      this.#counter = 0;
    }
    const serial = Buffer.allocUnsafe(16);
    serial.writeUIntBE(this.#lastMs, 0, 6);
    serial.writeUInt16BE(this.#counter, 6);
    if (this.#poolOffset === this.#pool.length) {
      randomFillSync(this.#pool);
      this.#poolOffset = 0;
    }
    this.#pool.copy(serial, 8, this.#poolOffset, this.#poolOffset + 8);
    this.#poolOffset += 8;
    return unsignedInteger(serial);
  }
}
