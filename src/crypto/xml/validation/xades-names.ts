import { XADES_NAMESPACE } from '../xml-constants.js';
import { child, childrenNamed, type TreeNode } from './signature-tree.js';

/*
 * XAdES elements by local name in any of its namespaces: 1.3.2 (EN 319 132-1, what Signet writes) and
 * the earlier 1.2.2 and 1.1.1 that qualified signatures made before it still carry (an Austrian
 * A-Trust signature of 2011 among the testdata). Their elements share names and meaning for what a
 * verifier reads here: SignedProperties, SigningTime, SigningCertificate, the time-stamps and values.
 */
export const XADES_NAMESPACES = [XADES_NAMESPACE, 'http://uri.etsi.org/01903/v1.2.2#', 'http://uri.etsi.org/01903/v1.1.1#'];

/** ds:Reference Type values that mark the SignedProperties reference. */
export const SIGNED_PROPERTIES_TYPES = new Set([
  'http://uri.etsi.org/01903#SignedProperties',
  'http://uri.etsi.org/01903/v1.2.2#SignedProperties',
  'http://uri.etsi.org/01903/v1.1.1#SignedProperties',
]);

export function xades(node: TreeNode | undefined, localName: string): TreeNode | undefined {
  for (const namespaceUri of XADES_NAMESPACES) {
    const found = child(node, namespaceUri, localName);
    if (found) return found;
  }
  return undefined;
}

export function xadesChildren(node: TreeNode | undefined, localName: string): TreeNode[] {
  return XADES_NAMESPACES.flatMap((namespaceUri) => childrenNamed(node, namespaceUri, localName));
}
