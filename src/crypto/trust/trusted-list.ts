import { decodeXml } from '../xml/xml-encoding.js';
import { readElementTree } from '../xml/validation/element-tree.js';
import { child, childrenNamed, path, type TreeNode } from '../xml/validation/signature-tree.js';

/*
 * An ETSI TS 119 612 trusted list, read: the scheme information (territory, type, sequence number,
 * issue and next update), the pointers a list of lists has to the national lists (where, and the
 * certificates that must have signed them), and each trust service with its provider, type, current
 * status and digital identity (certificates). Pure: bytes in, data out; whether the list is signed by
 * whom it should be is trusted-list-signature.ts, what its services are trusted for is trust-anchors.
 */

export const TSL_NAMESPACE = 'http://uri.etsi.org/02231/v2#';
const ADDITIONAL_TYPES_NAMESPACE = 'http://uri.etsi.org/02231/v2/additionaltypes#';

export interface TrustedListPointer {
  location: string;
  territory?: string;
  mimeType?: string;
  /** The certificates one of which must have signed the pointed list. */
  signerCertificates: Buffer[];
}

export interface TrustService {
  provider: string;
  name: string;
  /** ServiceTypeIdentifier URI, e.g. http://uri.etsi.org/TrstSvc/Svctype/CA/QC. */
  type: string;
  /** ServiceStatus URI, e.g. http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/granted. */
  status: string;
  statusSince?: Date;
  certificates: Buffer[];
}

export interface TrustedList {
  territory: string;
  /** TSLType URI: …/TSLType/EUgeneric for a national list, …/TSLType/EUlistofthelists for the LOTL. */
  type: string;
  sequenceNumber: number;
  issued?: Date;
  nextUpdate?: Date;
  operator: string;
  pointers: TrustedListPointer[];
  services: TrustService[];
}

export class TrustedListError extends Error {}

const tsl = (localName: string): [string, string] => [TSL_NAMESPACE, localName];

export function readTrustedList(bytes: Buffer): TrustedList {
  let root: TreeNode;
  try {
    root = readElementTree(decodeXml(bytes).text);
  } catch (error) {
    throw new TrustedListError(`not readable XML (${(error as Error).message})`);
  }
  if (root.element.namespaceUri !== TSL_NAMESPACE || root.element.localName !== 'TrustServiceStatusList') {
    throw new TrustedListError(`not a trusted list: the document element is ${root.element.qname}, not TrustServiceStatusList of ${TSL_NAMESPACE}`);
  }
  const scheme = child(root, ...tsl('SchemeInformation'));
  if (!scheme) throw new TrustedListError('the list has no SchemeInformation');
  return {
    territory: textOf(child(scheme, ...tsl('SchemeTerritory'))),
    type: textOf(child(scheme, ...tsl('TSLType'))),
    sequenceNumber: Number(textOf(child(scheme, ...tsl('TSLSequenceNumber'))) || 0),
    ...dateField('issued', child(scheme, ...tsl('ListIssueDateTime'))),
    ...dateField('nextUpdate', path(scheme, tsl('NextUpdate'), tsl('dateTime'))),
    operator: nameOf(child(scheme, ...tsl('SchemeOperatorName'))),
    pointers: childrenNamed(child(scheme, ...tsl('PointersToOtherTSL')), ...tsl('OtherTSLPointer')).map(readPointer),
    services: childrenNamed(child(root, ...tsl('TrustServiceProviderList')), ...tsl('TrustServiceProvider')).flatMap(readProvider),
  };
}

function readPointer(pointer: TreeNode): TrustedListPointer {
  const information = childrenNamed(path(pointer, tsl('AdditionalInformation')), ...tsl('OtherInformation'));
  const territory = information.map((item) => child(item, ...tsl('SchemeTerritory'))).find(Boolean);
  const mimeType = information.map((item) => child(item, ADDITIONAL_TYPES_NAMESPACE, 'MimeType')).find(Boolean);
  return {
    location: textOf(child(pointer, ...tsl('TSLLocation'))),
    ...(territory && { territory: textOf(territory) }),
    ...(mimeType && { mimeType: textOf(mimeType) }),
    signerCertificates: childrenNamed(child(pointer, ...tsl('ServiceDigitalIdentities')), ...tsl('ServiceDigitalIdentity')).flatMap(certificatesOf),
  };
}

function readProvider(provider: TreeNode): TrustService[] {
  const providerName = nameOf(path(provider, tsl('TSPInformation'), tsl('TSPName')));
  return childrenNamed(child(provider, ...tsl('TSPServices')), ...tsl('TSPService')).map((service) => {
    const information = child(service, ...tsl('ServiceInformation'));
    return {
      provider: providerName,
      name: nameOf(child(information, ...tsl('ServiceName'))),
      type: textOf(child(information, ...tsl('ServiceTypeIdentifier'))),
      status: textOf(child(information, ...tsl('ServiceStatus'))),
      ...dateField('statusSince', child(information, ...tsl('StatusStartingTime'))),
      certificates: certificatesOf(child(information, ...tsl('ServiceDigitalIdentity'))),
    };
  });
}

/** ServiceDigitalIdentity: DigitalId elements, those with an X509Certificate (base64 DER). */
function certificatesOf(identity: TreeNode | undefined): Buffer[] {
  return childrenNamed(identity, ...tsl('DigitalId')).flatMap((id) => {
    const certificate = child(id, ...tsl('X509Certificate'));
    return certificate ? [Buffer.from(certificate.text.replace(/\s+/g, ''), 'base64')] : [];
  });
}

/** A multilingual name: the English one, else the first. */
function nameOf(names: TreeNode | undefined): string {
  const all = childrenNamed(names, ...tsl('Name'));
  const english = all.find((name) => name.element.attributes.some((attribute) => attribute.localName === 'lang' && attribute.value.toLowerCase().startsWith('en')));
  return textOf(english ?? all[0]);
}

function textOf(node: TreeNode | undefined): string {
  return node?.text.trim() ?? '';
}

function dateField<K extends string>(key: K, node: TreeNode | undefined): Partial<Record<K, Date>> {
  const text = textOf(node);
  const date = text ? new Date(text) : undefined;
  return date && !Number.isNaN(date.getTime()) ? ({ [key]: date } as Record<K, Date>) : {};
}
