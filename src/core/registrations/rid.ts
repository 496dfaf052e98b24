import { randomBytes } from 'node:crypto';
import { SignetError } from '../../errors/signet-error.js';

/*
 * RID: a registration id short enough to read aloud and too random to guess (API.md §4).
 * 60 random bits as 12 Crockford base32 symbols in three groups of four, then Crockford's mod-37
 * check symbol over the 60-bit value: `7KQ3-M9XT-2HDE-W`. 2^60 ids make a guess hopeless; the check
 * symbol catches every single-symbol error and adjacent transposition, so a mistyped RID is told apart
 * (400 invalid_rid) from one that does not exist (404).
 */

const SYMBOLS = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
/** Check symbols: the 32 above for 0–31, then `*~$=U` for 32–36 (Crockford). */
const CHECK_SYMBOLS = `${SYMBOLS}*~$=U`;
const DATA_SYMBOLS = 12;
const DATA_BITS = 60n;

export function generateRid(): string {
  const value = BigInt(`0x${randomBytes(8).toString('hex')}`) & ((1n << DATA_BITS) - 1n);
  return formatRid(value);
}

function formatRid(value: bigint): string {
  let data = '';
  for (let i = DATA_SYMBOLS - 1; i >= 0; i--) data += SYMBOLS[Number((value >> BigInt(i * 5)) & 31n)];
  return `${data.slice(0, 4)}-${data.slice(4, 8)}-${data.slice(8, 12)}-${CHECK_SYMBOLS[Number(value % 37n)]}`;
}

/**
 * Reads a RID as a person may type it — any case, with or without hyphens or spaces, O for 0 and
 * I/L for 1 (Crockford's decoding rules) — and returns its canonical form. Throws `invalid_rid` when
 * it cannot be one: wrong length, a symbol outside the alphabet, or a check symbol that does not match.
 */
export function parseRid(input: string): string {
  const compact = input.toUpperCase().replace(/[\s-]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1');
  if (compact.length !== DATA_SYMBOLS + 1) {
    throw new SignetError('invalid_rid', `"${truncate(input)}" is not a RID: a RID has 12 symbols and a check symbol, like 7KQ3-M9XT-2HDE-W`, {
      field: 'rid',
    });
  }
  let value = 0n;
  for (const symbol of compact.slice(0, DATA_SYMBOLS)) {
    const digit = SYMBOLS.indexOf(symbol);
    if (digit < 0) throw new SignetError('invalid_rid', `"${truncate(input)}" is not a RID: "${symbol}" is not a Crockford base32 symbol`, { field: 'rid' });
    value = (value << 5n) | BigInt(digit);
  }
  const check = CHECK_SYMBOLS.indexOf(compact[DATA_SYMBOLS]);
  if (check < 0 || BigInt(check) !== value % 37n) {
    throw new SignetError('invalid_rid', `"${truncate(input)}" is mistyped: its check symbol does not match; compare it with the original`, {
      field: 'rid',
    });
  }
  return formatRid(value);
}

function truncate(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}
