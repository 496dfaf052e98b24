import { escapeHtml } from '../../util/escape-html.js';
import {
  registrationSummaryFields,
  SOAP11_NAMESPACE,
  SOAP12_NAMESPACE,
  TARGET_NAMESPACE,
  type FieldSpec,
  type OperationName,
  type SoapVersion,
} from './service-contract.js';

/** What a response element's children hold: text, or for `tns:Registration` the summary's fields. */
export type ResponseValue = string | number | boolean | Buffer | Date | ResponseRecord | ResponseRecord[] | null | undefined;
export interface ResponseRecord {
  [name: string]: ResponseValue;
}

/**
 * Text for element content and attribute values. Characters XML 1.0 cannot carry at all (C0 controls
 * but tab and line ends, U+FFFE/U+FFFF, lone surrogates) — a title or user id may hold them, taken in
 * by the JSON API — become U+FFFD, so every answer stays well-formed.
 */
export function escapeXml(text: string): string {
  // The markup characters as for HTML; a CR as a reference, which XML parsers would otherwise turn into LF.
  return escapeHtml(text.replace(/[\x00-\x08\x0B\x0C\x0E-\x1F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD')).replace(
    /\r/g,
    '&#13;',
  );
}

export function contentTypeOf(version: SoapVersion): string {
  return version === '1.1' ? 'text/xml; charset=utf-8' : 'application/soap+xml; charset=utf-8';
}

function envelope(version: SoapVersion, body: string): string {
  const namespace = version === '1.1' ? SOAP11_NAMESPACE : SOAP12_NAMESPACE;
  return `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="${namespace}"><soap:Body>${body}</soap:Body></soap:Envelope>`;
}

/**
 * `<OperationResponse xmlns="urn:signet:copytrust:v1">` with the children in the contract's order;
 * an absent optional value is left out (minOccurs="0"), a repeated one written once per item.
 */
export function responseEnvelope(version: SoapVersion, operation: OperationName, fields: readonly FieldSpec[], values: ResponseRecord): string {
  return envelope(version, `<${operation}Response xmlns="${TARGET_NAMESPACE}">${children(fields, values)}</${operation}Response>`);
}

function children(fields: readonly FieldSpec[], values: ResponseRecord): string {
  let xml = '';
  for (const spec of fields) {
    const value = values[spec.name];
    if (value === undefined || value === null) {
      if (!spec.optional) throw new Error(`The response lacks its required element ${spec.name}`);
      continue;
    }
    for (const item of Array.isArray(value) ? value : [value]) {
      const content = spec.type === 'tns:Registration' ? children(registrationSummaryFields, item as ResponseRecord) : text(item as ScalarValue);
      xml += `<${spec.name}>${content}</${spec.name}>`;
    }
  }
  return xml;
}

type ScalarValue = string | number | boolean | Buffer | Date;

function text(value: ScalarValue): string {
  if (Buffer.isBuffer(value)) return value.toString('base64');
  if (value instanceof Date) return value.toISOString();
  return escapeXml(String(value));
}

/**
 * A SOAP fault: `Client`/`Sender` for the caller's mistakes, `Server`/`Receiver` otherwise, the
 * native error code and message in `detail/Fault` (namespace-qualified, the WSDL's fault element).
 * A SOAP 1.2 fault about the envelope itself uses the standard codes (VersionMismatch, MustUnderstand).
 */
export function faultEnvelope(version: SoapVersion, fault: { sender: boolean; code: string; message: string; soapCode?: 'VersionMismatch' | 'MustUnderstand' }): string {
  const detail = `<Fault xmlns="${TARGET_NAMESPACE}"><Code>${escapeXml(fault.code)}</Code><Message>${escapeXml(fault.message)}</Message></Fault>`;
  if (version === '1.1') {
    const code = fault.soapCode ?? (fault.sender ? 'Client' : 'Server');
    return envelope(version, `<soap:Fault><faultcode>soap:${code}</faultcode><faultstring>${escapeXml(fault.message)}</faultstring><detail>${detail}</detail></soap:Fault>`);
  }
  const code = fault.soapCode ?? (fault.sender ? 'Sender' : 'Receiver');
  return envelope(
    version,
    `<soap:Fault><soap:Code><soap:Value>soap:${code}</soap:Value></soap:Code><soap:Reason><soap:Text xml:lang="en">${escapeXml(fault.message)}</soap:Text></soap:Reason><soap:Detail>${detail}</soap:Detail></soap:Fault>`,
  );
}
