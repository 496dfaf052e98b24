import { scanXml, type DocumentPart, type XmlElement, type XmlHandler } from '../xml-scanner.js';
import type { TreeNode } from './signature-tree.js';

/**
 * A whole XML document as small nodes (element, children, text), read with xml-scanner.ts — so with
 * its refusals (no DTD, no entities beyond the predefined ones). For documents that are read as data
 * rather than canonicalized: a trusted list, say. Elements beyond `maxElements` are refused.
 */
export function readElementTree(text: string, maxElements = 1_000_000): TreeNode {
  const builder = new TreeBuilder(maxElements);
  scanXml(text, builder);
  if (!builder.root) throw new Error('the document has no element');
  return builder.root;
}

class TreeBuilder implements XmlHandler {
  root?: TreeNode;
  private readonly open: TreeNode[] = [];
  private count = 0;

  constructor(private readonly maxElements: number) {}

  startElement(element: XmlElement): void {
    if (++this.count > this.maxElements) throw new Error(`more than ${this.maxElements} elements`);
    const node: TreeNode = { element, children: [], text: '' };
    if (this.open.length === 0) this.root = node;
    else this.open[this.open.length - 1]!.children.push(node);
    this.open.push(node);
  }

  endElement(): void {
    this.open.pop();
  }

  text(text: string): void {
    if (this.open.length > 0) this.open[this.open.length - 1]!.text += text;
  }

  comment(_text: string, _part: DocumentPart): void {}

  processingInstruction(_target: string, _data: string, _part: DocumentPart): void {}
}
