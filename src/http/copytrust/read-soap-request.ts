import type { Writable } from 'node:stream';
import { SignetError } from '../../errors/signet-error.js';
import { contentTypeParameters, MultipartRelatedReader } from './multipart-related-reader.js';
import { SoapEnvelopeReader, type FileDataSink, type SoapCall, type SoapHeader } from './soap-envelope-reader.js';
import { StreamingXmlReader } from './streaming-xml-reader.js';

export interface SoapRequestHooks {
  /** The Header was read and the Body starts: decide who is calling before any content is stored. */
  authenticate(header: SoapHeader): Promise<void>;
  /** FileData's bytes begin (inline or as the MTOM attachment): where they go, with backpressure. */
  openFileData(): Writable;
}

/**
 * Reads a SOAP request body as it arrives — `text/xml` (1.1), `application/soap+xml` (1.2) or MTOM
 * (`multipart/related` with an XOP root part) — and returns the call. FileData streams into the sink
 * the hooks give, and the next chunk of the request is read only once the sink has room, so memory
 * stays at a few chunks whatever the file's size; more than `maxBodySize` bytes is `payload_too_large`
 * (the announced length is checked before any byte is read, a chunked body here).
 */
export async function readSoapRequest(
  body: AsyncIterable<Buffer>,
  contentType: string | undefined,
  maxBodySize: number,
  hooks: SoapRequestHooks,
): Promise<SoapCall> {
  let authentication: Promise<void> | undefined;
  let sink: Writable | undefined;
  const openSink = (): Writable => {
    if (sink) throw new SignetError('invalid_request', 'FileData is given twice', { field: 'FileData' });
    sink = hooks.openFileData();
    return sink;
  };
  const envelope = new SoapEnvelopeReader({
    bodyStarts(header) {
      authentication = hooks.authenticate(header);
      authentication.catch(() => {});
    },
    openFileData(): FileDataSink {
      const target = openSink();
      return { write: (bytes) => void target.write(bytes), end: () => void target.end() };
    },
  });
  const xml = new StreamingXmlReader(envelope);
  const { mediaType, parameters } = contentTypeParameters(contentType ?? '');

  let feed: (chunk: Buffer) => void;
  let finish: () => void;
  let attachmentMissing: () => string | undefined = () => undefined;
  if (mediaType === 'multipart/related') {
    const mtom = mtomReader(parameters, xml, envelope, openSink);
    feed = (chunk) => mtom.reader.write(chunk);
    finish = () => mtom.reader.end();
    attachmentMissing = mtom.attachmentMissing;
  } else if (mediaType === 'text/xml' || mediaType === 'application/soap+xml') {
    feed = (chunk) => xml.write(chunk);
    finish = () => xml.end();
  } else {
    throw new SignetError(
      'unsupported_media_type',
      `Send the SOAP envelope as text/xml (SOAP 1.1), application/soap+xml (SOAP 1.2) or multipart/related (MTOM), not "${mediaType || 'nothing'}"`,
    );
  }

  let received = 0;
  for await (const chunk of body) {
    received += chunk.length;
    if (received > maxBodySize) throw new SignetError('payload_too_large', `The request exceeds the ${maxBodySize}-byte limit (--max-body-size)`);
    feed(chunk);
    if (authentication) await authentication;
    if (sink?.writableNeedDrain) await drained(sink);
  }
  finish();
  if (authentication) await authentication;
  const call = envelope.result();
  const missing = attachmentMissing();
  if (missing) throw new SignetError('invalid_request', `FileData refers to the MTOM attachment cid:${missing}, which the request does not hold`, { field: 'FileData' });
  return call;
}

/**
 * MTOM: the root part (the one `start` names, which must come first, as every SOAP stack sends it)
 * is the XOP envelope; the part whose Content-ID FileData's xop:Include names goes to the sink as
 * binary; other parts are read and dropped.
 */
function mtomReader(parameters: Record<string, string>, xml: StreamingXmlReader, envelope: SoapEnvelopeReader, openSink: () => Writable) {
  const boundary = parameters.boundary;
  if (!boundary) throw new SignetError('invalid_envelope', 'The multipart/related Content-Type has no boundary');
  const start = parameters.start ? bare(parameters.start) : undefined;
  let stage: 'root' | 'after-root' = 'root';
  let current: 'root' | 'attachment' | 'ignored' = 'root';
  let wanted: string | undefined;
  let attachment: Writable | undefined;
  let attachmentDone = false;
  const reader = new MultipartRelatedReader(boundary, {
    partStart(headers) {
      const id = bare(headers['content-id'] ?? '');
      if (stage === 'root') {
        if (start && id !== start) throw new SignetError('invalid_envelope', `The MTOM root part <${start}> must be the first part`);
        current = 'root';
        return;
      }
      if (wanted !== undefined && id === wanted && !attachment) {
        const encoding = (headers['content-transfer-encoding'] ?? 'binary').toLowerCase();
        if (encoding !== 'binary' && encoding !== '8bit') {
          throw new SignetError('invalid_request', `The MTOM attachment's Content-Transfer-Encoding must be binary, not ${encoding}`, { field: 'FileData' });
        }
        attachment = openSink();
        current = 'attachment';
        return;
      }
      current = 'ignored';
    },
    partData(piece) {
      if (current === 'root') xml.write(piece);
      else if (current === 'attachment') attachment!.write(piece);
    },
    partEnd() {
      if (current === 'root') {
        xml.end();
        wanted = envelope.result().fileDataAttachment;
        stage = 'after-root';
      } else if (current === 'attachment' && !attachmentDone) {
        attachment!.end();
        attachmentDone = true;
      }
    },
  });
  return { reader, attachmentMissing: () => (wanted !== undefined && !attachmentDone ? wanted : undefined) };
}

function bare(contentId: string): string {
  return contentId.trim().replace(/^<(.*)>$/, '$1');
}

function drained(stream: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = () => {
      stream.off('drain', done);
      stream.off('close', closed);
      resolve();
    };
    const closed = () => {
      stream.off('drain', done);
      stream.off('close', closed);
      reject(stream.errored ?? new SignetError('internal_error', 'The content store stopped reading the upload'));
    };
    stream.on('drain', done);
    stream.on('close', closed);
  });
}
