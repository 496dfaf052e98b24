import { SignetError } from '../../errors/signet-error.js';
import { Base64PieceDecoder } from './base64-piece-decoder.js';
import {
  isOperationName,
  operations,
  PASSWORD_TEXT_TYPE,
  SOAP11_NAMESPACE,
  SOAP12_NAMESPACE,
  TARGET_NAMESPACE,
  WSSE_NAMESPACE,
  XOP_NAMESPACE,
  type FieldSpec,
  type OperationName,
  type SoapVersion,
} from './service-contract.js';
import type { StreamingXmlHandler, XmlAttributeValue, XmlName } from './streaming-xml-reader.js';

/** WS-Security `UsernameToken` as the client sent it (PasswordText only: secrets are stored hashed). */
export interface UsernameToken {
  username: string;
  password: string;
}

/** What the Header said, known when the Body starts. */
export interface SoapHeader {
  version: SoapVersion;
  usernameToken?: UsernameToken;
}

/** Where FileData's bytes go, as they are decoded (inline base64) or received (an MTOM attachment). */
export interface FileDataSink {
  write(bytes: Buffer): void;
  end(): void;
}

export interface SoapCall {
  version: SoapVersion;
  operation: OperationName;
  /** Simple request elements by local name (FileData excepted). */
  fields: ReadonlyMap<string, string>;
  /** FileData was sent as `xop:Include`: the attachment's Content-ID (without `cid:` and brackets). */
  fileDataAttachment?: string;
  /** FileData was present (inline or as an attachment). */
  hasFileData: boolean;
}

export interface EnvelopeHooks {
  /** The Body starts: authenticate with the header (the driver awaits what this returns before reading on). */
  bodyStarts(header: SoapHeader): void;
  /** Inline FileData starts: where its decoded bytes go. */
  openFileData(): FileDataSink;
}

/** XML Schema has no limit; these are far above what any field of the contract needs. */
const MAX_FIELD_CHARACTERS = 64 * 1024;
const WS_ADDRESSING = new Set(['http://www.w3.org/2005/08/addressing', 'http://schemas.xmlsoap.org/ws/2004/08/addressing']);

/**
 * Reads a SOAP 1.1 or 1.2 envelope from the streaming reader's events: the version from the
 * Envelope's namespace, a WS-Security UsernameToken from the Header, the operation from the Body's one
 * child (dispatch on the body element, WS-I Basic Profile), its simple elements as text and FileData
 * straight into a sink. Request elements are accepted in the target namespace or unqualified.
 */
export class SoapEnvelopeReader implements StreamingXmlHandler {
  private version?: SoapVersion;
  private envelopeNamespace = '';
  private part: 'start' | 'header' | 'between' | 'body' | 'after-body' = 'start';
  /** The WS-Security header's UsernameToken as read so far; `inSecurity` while inside that header. */
  private security?: { username?: string; password?: string; passwordType?: string; inToken: boolean; tokens: number; field?: 'username' | 'password' };
  private inSecurity = false;
  private notUnderstood?: string;
  private operation?: OperationName;
  private spec: readonly FieldSpec[] = [];
  private readonly fields = new Map<string, string>();
  private currentField?: { name: string; text: string };
  private fileData?: { decoder: Base64PieceDecoder; sink: FileDataSink } | { attachment: string };
  private hasFileData = false;

  constructor(private readonly hooks: EnvelopeHooks) {}

  startElement(name: XmlName, attributes: readonly XmlAttributeValue[], depth: number): void {
    if (depth === 1) return this.envelope(name);
    if (depth === 2) return this.headerOrBody(name);
    if (this.part === 'header') return this.headerElement(name, attributes, depth);
    if (depth === 3) return this.operationElement(name);
    if (depth === 4) return this.requestField(name);
    if (depth === 5 && this.currentField?.name === 'FileData' && name.namespaceUri === XOP_NAMESPACE && name.localName === 'Include') {
      const href = attributes.find((attribute) => attribute.localName === 'href' && attribute.namespaceUri === '')?.value ?? '';
      if (this.fileData) throw new SignetError('invalid_request', 'FileData holds both an xop:Include and inline base64', { field: 'FileData' });
      if (!href.startsWith('cid:')) throw new SignetError('invalid_request', 'xop:Include needs an href="cid:…" naming the MTOM attachment', { field: 'FileData' });
      this.fileData = { attachment: contentIdOf(href) };
      return;
    }
    throw new SignetError('invalid_request', `<${name.localName}> is not expected inside <${this.currentField?.name ?? this.operation}>: send the elements of the WSDL only`, {
      field: this.currentField?.name,
    });
  }

  text(piece: string, depth: number): void {
    if (this.part === 'header') return this.headerText(piece);
    if (depth === 4 && this.currentField) {
      if (this.currentField.name === 'FileData') return this.fileDataText(piece);
      this.currentField.text += piece;
      if (this.currentField.text.length > MAX_FIELD_CHARACTERS) {
        throw new SignetError('invalid_request', `${this.currentField.name} is longer than ${MAX_FIELD_CHARACTERS} characters`, { field: this.currentField.name });
      }
      return;
    }
    if (!/^[\x20\t\r\n]*$/.test(piece)) throw new SignetError('invalid_envelope', `Text where the SOAP envelope allows only elements (depth ${depth})`);
  }

  endElement(_name: XmlName, depth: number): void {
    if (this.part === 'header') {
      if (depth === 2) this.part = 'between';
      else if (depth === 3) this.inSecurity = false;
      else if (depth === 4 && this.security) this.security.inToken = false;
      else if (depth === 5 && this.security) this.security.field = undefined;
      return;
    }
    if (depth === 2) this.part = 'after-body';
    if (depth !== 4 || !this.currentField) return;
    const field = this.currentField;
    this.currentField = undefined;
    if (field.name !== 'FileData') {
      this.fields.set(field.name, field.text);
      return;
    }
    this.hasFileData = true;
    if (this.fileData && 'decoder' in this.fileData) {
      const rest = this.fileData.decoder.end();
      if (rest.length) this.fileData.sink.write(rest);
      this.fileData.sink.end();
    } else if (!this.fileData) {
      // <FileData/>: an empty file, sent inline.
      this.openInlineFileData().sink.end();
    }
  }

  /** After the reader's end(): the call, with every required element present. */
  result(): SoapCall {
    if (!this.version || !this.operation) throw new SignetError('invalid_envelope', 'The SOAP Body holds no operation element');
    for (const spec of this.spec) {
      const present = spec.name === 'FileData' ? this.hasFileData : this.fields.has(spec.name);
      if (!spec.optional && !present) {
        throw new SignetError('invalid_request', `${this.operation} needs <${spec.name}>`, { field: spec.name });
      }
    }
    const attachment = this.fileData && 'attachment' in this.fileData ? this.fileData.attachment : undefined;
    return { version: this.version, operation: this.operation, fields: this.fields, fileDataAttachment: attachment, hasFileData: this.hasFileData };
  }

  private envelope(name: XmlName): void {
    if (name.localName !== 'Envelope') throw new SignetError('invalid_envelope', `The body's root element is <${name.localName}>, not a SOAP Envelope`);
    if (name.namespaceUri === SOAP11_NAMESPACE) this.version = '1.1';
    else if (name.namespaceUri === SOAP12_NAMESPACE) this.version = '1.2';
    else throw new SignetError('version_mismatch', `The Envelope's namespace "${name.namespaceUri}" is neither SOAP 1.1's (${SOAP11_NAMESPACE}) nor SOAP 1.2's (${SOAP12_NAMESPACE})`);
    this.envelopeNamespace = name.namespaceUri;
  }

  private headerOrBody(name: XmlName): void {
    const inEnvelope = name.namespaceUri === this.envelopeNamespace;
    if (inEnvelope && name.localName === 'Header' && this.part === 'start') {
      this.part = 'header';
      return;
    }
    if (inEnvelope && name.localName === 'Body' && (this.part === 'start' || this.part === 'between')) {
      this.part = 'body';
      if (this.notUnderstood) throw new SignetError('must_understand', `The header <${this.notUnderstood}> is marked mustUnderstand and is not understood by this service`);
      const token = this.security;
      if (token && token.passwordType && token.passwordType !== PASSWORD_TEXT_TYPE) {
        throw new SignetError('unauthorized', 'The UsernameToken must carry its password as PasswordText (the secrets are stored hashed; use HTTPS)');
      }
      this.hooks.bodyStarts({
        version: this.version!,
        ...(token?.username !== undefined && { usernameToken: { username: token.username.trim(), password: token.password ?? '' } }),
      });
      return;
    }
    throw new SignetError('invalid_envelope', `<${name.localName}> is not expected in the SOAP Envelope (Header?, then Body)`);
  }

  private headerElement(name: XmlName, attributes: readonly XmlAttributeValue[], depth: number): void {
    if (depth === 3) {
      if (name.namespaceUri === WSSE_NAMESPACE && name.localName === 'Security') {
        // Two headers could name two identities; which one counts would be a guess.
        if (this.security) throw new SignetError('unauthorized', 'Send one wsse:Security header');
        this.security = { inToken: false, tokens: 0 };
        this.inSecurity = true;
        return;
      }
      const mustUnderstand = attributes.find((attribute) => attribute.namespaceUri === this.envelopeNamespace && attribute.localName === 'mustUnderstand');
      if (mustUnderstand && /^(1|true)$/.test(mustUnderstand.value.trim()) && !WS_ADDRESSING.has(name.namespaceUri)) this.notUnderstood ??= name.localName;
      return;
    }
    const security = this.security;
    if (!security || !this.inSecurity || name.namespaceUri !== WSSE_NAMESPACE) return;
    if (depth === 4 && name.localName === 'UsernameToken') {
      if (++security.tokens > 1) throw new SignetError('unauthorized', 'Send one UsernameToken');
      security.inToken = true;
    } else if (depth === 5 && security.inToken && name.localName === 'Username') {
      security.field = 'username';
      security.username = '';
    } else if (depth === 5 && security.inToken && name.localName === 'Password') {
      security.field = 'password';
      security.password = '';
      security.passwordType = attributes.find((attribute) => attribute.localName === 'Type' && attribute.namespaceUri === '')?.value;
    }
  }

  private headerText(piece: string): void {
    const security = this.security;
    if (!this.inSecurity || !security?.field) return;
    const value = (security[security.field] ?? '') + piece;
    if (value.length > 1024) throw new SignetError('unauthorized', 'The UsernameToken is too long');
    security[security.field] = value;
  }

  private operationElement(name: XmlName): void {
    if (this.operation) throw new SignetError('invalid_envelope', 'The SOAP Body holds more than one operation element');
    if (name.namespaceUri !== TARGET_NAMESPACE || !isOperationName(name.localName)) {
      throw new SignetError(
        'unknown_operation',
        `{${name.namespaceUri}}${name.localName} is not an operation of this service; the operations are ${Object.keys(operations).join(', ')} in namespace ${TARGET_NAMESPACE} (see ?wsdl)`,
      );
    }
    this.operation = name.localName;
    this.spec = operations[name.localName].request;
  }

  private requestField(name: XmlName): void {
    const known = this.spec.some((spec) => spec.name === name.localName);
    if (!known || (name.namespaceUri !== TARGET_NAMESPACE && name.namespaceUri !== '')) {
      throw new SignetError('invalid_request', `<${name.localName}> is not an element of ${this.operation}; it takes ${this.spec.map((spec) => spec.name).join(', ')}`, {
        field: name.localName,
      });
    }
    if (this.fields.has(name.localName) || (name.localName === 'FileData' && this.hasFileData)) {
      throw new SignetError('invalid_request', `<${name.localName}> is given twice`, { field: name.localName });
    }
    this.currentField = { name: name.localName, text: '' };
  }

  /** Inline base64 goes to the sink as it is decoded; white space around an xop:Include is ignored. */
  private fileDataText(piece: string): void {
    const blank = /^[\x20\t\r\n]*$/.test(piece);
    if (this.fileData && 'attachment' in this.fileData) {
      if (!blank) throw new SignetError('invalid_request', 'FileData holds both an xop:Include and inline base64', { field: 'FileData' });
      return;
    }
    if (!this.fileData && blank) return;
    const inline = this.openInlineFileData();
    const bytes = inline.decoder.decode(piece);
    if (bytes.length) inline.sink.write(bytes);
  }

  private openInlineFileData(): { decoder: Base64PieceDecoder; sink: FileDataSink } {
    if (this.fileData && 'decoder' in this.fileData) return this.fileData;
    const inline = { decoder: new Base64PieceDecoder('FileData'), sink: this.hooks.openFileData() };
    this.fileData = inline;
    return inline;
  }
}

/** `cid:` URLs are %-encoded Content-IDs (RFC 2392). */
function contentIdOf(href: string): string {
  try {
    return decodeURIComponent(href.slice(4));
  } catch {
    throw new SignetError('invalid_request', `xop:Include's href "${href.slice(0, 100)}" is not a valid cid: URL`, { field: 'FileData' });
  }
}
