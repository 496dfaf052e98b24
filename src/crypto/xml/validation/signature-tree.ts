import { scanXml, type DocumentPart, type XmlElement, type XmlHandler } from '../xml-scanner.js';
import { DS_NAMESPACE, XML_NAMESPACE } from '../xml-constants.js';

/*
 * What a verifier needs to know of a signed XML document, gathered in one pass of xml-scanner.ts: the
 * ds:Signature elements with everything inside them as small nodes (element, attributes, text), and
 * every element carrying an identifier attribute (Id, ID, id), for same-document references. The
 * document outside the signatures is not kept: references to it are canonicalized by scanning again.
 */

export interface TreeNode {
  element: XmlElement;
  children: TreeNode[];
  /** Character data directly inside the element. */
  text: string;
}

export interface SignatureTree {
  signatures: TreeNode[];
  /** The document element. */
  root?: XmlElement;
  /** Identifier value → every element that carries it (more than one is a wrapping attack or an error). */
  ids: Map<string, XmlElement[]>;
}

/** Unprefixed Id, ID, id, and xml:id (W3C xml:id). */
const ID_ATTRIBUTES = new Set(['Id', 'ID', 'id']);

export function readSignatureTree(text: string): SignatureTree {
  const collector = new Collector();
  scanXml(text, collector);
  return { signatures: collector.signatures, ids: collector.ids, root: collector.root };
}

class Collector implements XmlHandler {
  readonly signatures: TreeNode[] = [];
  readonly ids = new Map<string, XmlElement[]>();
  root?: XmlElement;
  private readonly open: TreeNode[] = [];

  startElement(element: XmlElement): void {
    this.root ??= element;
    for (const attribute of element.attributes) {
      const isId = attribute.prefix === '' ? ID_ATTRIBUTES.has(attribute.localName) : attribute.namespaceUri === XML_NAMESPACE && attribute.localName === 'id';
      if (!isId) continue;
      const list = this.ids.get(attribute.value);
      if (list) list.push(element);
      else this.ids.set(attribute.value, [element]);
    }
    const isSignature = element.namespaceUri === DS_NAMESPACE && element.localName === 'Signature';
    if (this.open.length === 0 && !isSignature) return;
    const node: TreeNode = { element, children: [], text: '' };
    if (this.open.length === 0) this.signatures.push(node);
    else this.open[this.open.length - 1].children.push(node);
    this.open.push(node);
  }

  endElement(element: XmlElement): void {
    if (this.open.length > 0 && this.open[this.open.length - 1].element === element) this.open.pop();
  }

  text(text: string): void {
    if (this.open.length > 0) this.open[this.open.length - 1].text += text;
  }

  comment(_text: string, _part: DocumentPart): void {}

  processingInstruction(_target: string, _data: string, _part: DocumentPart): void {}
}

/** The first child element with this namespace and local name. */
export function child(node: TreeNode | undefined, namespaceUri: string, localName: string): TreeNode | undefined {
  return node?.children.find((candidate) => candidate.element.namespaceUri === namespaceUri && candidate.element.localName === localName);
}

export function childrenNamed(node: TreeNode | undefined, namespaceUri: string, localName: string): TreeNode[] {
  return node?.children.filter((candidate) => candidate.element.namespaceUri === namespaceUri && candidate.element.localName === localName) ?? [];
}

/** Follows a path of child elements, each `[namespace, localName]`. */
export function path(node: TreeNode | undefined, ...steps: Array<[string, string]>): TreeNode | undefined {
  let current = node;
  for (const [namespaceUri, localName] of steps) current = child(current, namespaceUri, localName);
  return current;
}

export function attribute(node: TreeNode | undefined, name: string): string | undefined {
  return node?.element.attributes.find((candidate) => candidate.prefix === '' && candidate.localName === name)?.value;
}

export const ds = (localName: string): [string, string] => [DS_NAMESPACE, localName];
