import { SignetError } from '../../errors/signet-error.js';

/**
 * A streaming reader of `multipart/related` bodies (RFC 2387), the envelope of MTOM/XOP messages: it
 * splits parts at the boundary as bytes arrive and hands each part's bytes on in pieces, so an
 * attachment of any size passes through with memory of one chunk. (@fastify/multipart reads only
 * `multipart/form-data`.)
 */

export interface RelatedPartHandler {
  /** Header names lower-cased; values trimmed. */
  partStart(headers: Readonly<Record<string, string>>): void;
  partData(piece: Buffer): void;
  partEnd(): void;
}

const MAX_HEADER_BYTES = 16 * 1024;
const HEADERS_END = Buffer.from('\r\n\r\n');

type State = 'preamble' | 'after-delimiter' | 'headers' | 'body' | 'done';

export class MultipartRelatedReader {
  private readonly delimiter: Buffer;
  private state: State = 'preamble';
  // The first delimiter may come without the CRLF that precedes every other one: start with one.
  private rest: Buffer = Buffer.from('\r\n');
  private parts = 0;

  constructor(
    boundary: string,
    private readonly handler: RelatedPartHandler,
    private readonly maxParts = 16,
  ) {
    this.delimiter = Buffer.from(`\r\n--${boundary}`, 'latin1');
  }

  write(chunk: Buffer): void {
    let data = this.rest.length ? Buffer.concat([this.rest, chunk]) : chunk;
    this.rest = Buffer.alloc(0);
    for (;;) {
      if (this.state === 'done') return;
      if (this.state === 'preamble' || this.state === 'body') {
        const at = data.indexOf(this.delimiter);
        if (at === -1) {
          // Keep what could be the start of a delimiter cut by the chunk boundary.
          const keep = Math.min(data.length, this.delimiter.length - 1);
          if (this.state === 'body' && data.length > keep) this.handler.partData(data.subarray(0, data.length - keep));
          this.rest = Buffer.from(data.subarray(data.length - keep));
          return;
        }
        if (this.state === 'body') {
          if (at > 0) this.handler.partData(data.subarray(0, at));
          this.handler.partEnd();
        }
        data = data.subarray(at + this.delimiter.length);
        this.state = 'after-delimiter';
      }
      if (this.state === 'after-delimiter') {
        const lineEnd = data.indexOf('\r\n');
        if (lineEnd === -1) {
          if (data.length >= 2 && data.subarray(0, 2).toString('latin1') === '--') return this.finish();
          if (data.length > 256) throw malformed('the boundary line is too long');
          this.rest = Buffer.from(data);
          return;
        }
        const line = data.subarray(0, lineEnd).toString('latin1');
        if (line.startsWith('--')) return this.finish();
        if (!/^[\x20\t]*$/.test(line)) throw malformed('text after a boundary');
        data = data.subarray(lineEnd + 2);
        if (++this.parts > this.maxParts) throw malformed(`more than ${this.maxParts} parts`);
        this.state = 'headers';
      }
      if (this.state === 'headers') {
        const end = data.indexOf(HEADERS_END);
        // A part without headers starts its body at once.
        const empty = data.length >= 2 && data[0] === 0x0d && data[1] === 0x0a;
        if (!empty && end === -1) {
          if (data.length > MAX_HEADER_BYTES) throw malformed('a part’s headers are too long');
          this.rest = Buffer.from(data);
          return;
        }
        const headerText = empty ? '' : data.subarray(0, end).toString('latin1');
        data = data.subarray(empty ? 2 : end + HEADERS_END.length);
        this.handler.partStart(parseHeaders(headerText));
        this.state = 'body';
      }
    }
  }

  /** The body ended: it must have been closed by the final boundary. */
  end(): void {
    if (this.state !== 'done') throw malformed('the body ends before the closing boundary');
  }

  private finish(): void {
    this.state = 'done';
    this.rest = Buffer.alloc(0);
  }
}

function parseHeaders(text: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of text.replace(/\r\n[\x20\t]+/g, ' ').split('\r\n')) {
    if (!line) continue;
    const colon = line.indexOf(':');
    if (colon < 1) throw malformed(`a malformed part header "${line.slice(0, 40)}"`);
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return headers;
}

function malformed(problem: string): SignetError {
  return new SignetError('invalid_envelope', `The MTOM (multipart/related) body is malformed: ${problem}`);
}

/** `boundary`, `start`, `type`, `start-info` … of a Content-Type value, quotes removed, names lower-cased. */
export function contentTypeParameters(contentType: string): { mediaType: string; parameters: Record<string, string> } {
  const [mediaType, ...rest] = contentType.split(';');
  const parameters: Record<string, string> = {};
  const pattern = /;\s*([^=;\s]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]*))/g;
  const tail = `;${rest.join(';')}`;
  for (const match of tail.matchAll(pattern)) parameters[match[1].toLowerCase()] = match[2]?.replace(/\\(.)/g, '$1') ?? match[3] ?? '';
  return { mediaType: mediaType.trim().toLowerCase(), parameters };
}
