/** Namespace and algorithm URIs used by XML-DSig (W3C XMLDSig 1.1) and XAdES (ETSI EN 319 132-1). */

export const XML_NAMESPACE = 'http://www.w3.org/XML/1998/namespace';
export const XMLNS_NAMESPACE = 'http://www.w3.org/2000/xmlns/';

export const DS_NAMESPACE = 'http://www.w3.org/2000/09/xmldsig#';
/** XAdES 1.3.2: the namespace of EN 319 132-1's SignedProperties, SigningCertificateV2, SignatureTimeStamp. */
export const XADES_NAMESPACE = 'http://uri.etsi.org/01903/v1.3.2#';
/** XAdES 1.4.1: ArchiveTimeStamp and TimeStampValidationData (EN 319 132-1 §5.5). */
export const XADES141_NAMESPACE = 'http://uri.etsi.org/01903/v1.4.1#';
/** XMLDSig §4.4.3.2 Type of a Reference to xades:SignedProperties (EN 319 132-1 §4.3.2). */
export const XADES_SIGNED_PROPERTIES_TYPE = 'http://uri.etsi.org/01903#SignedProperties';
/** XPath Filter 2.0 (W3C Recommendation 2002-11-08). */
export const XPATH_FILTER2_NAMESPACE = 'http://www.w3.org/2002/06/xmldsig-filter2';

export const algorithms = {
  exclusiveC14n: 'http://www.w3.org/2001/10/xml-exc-c14n#',
  exclusiveC14nWithComments: 'http://www.w3.org/2001/10/xml-exc-c14n#WithComments',
  envelopedSignature: 'http://www.w3.org/2000/09/xmldsig#enveloped-signature',
  xpath: 'http://www.w3.org/TR/1999/REC-xpath-19991116',
  xpathFilter2: 'http://www.w3.org/2002/06/xmldsig-filter2',
  base64: 'http://www.w3.org/2000/09/xmldsig#base64',
  sha256: 'http://www.w3.org/2001/04/xmlenc#sha256',
  rsaSha256: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
  ecdsaSha256: 'http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256',
} as const;
