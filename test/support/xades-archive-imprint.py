"""
The message imprint of an XAdES ArchiveTimeStamp (ETSI EN 319 132-1 §5.5.2.2), recomputed with lxml's
exclusive canonicalization, independently of Signet's own XML code: reads a signed document on stdin,
prints the hex SHA-256 of, in order, each ds:Reference's data (the document with the enveloping
ds:Signature removed, exc-c14n; the SignedProperties it points at, exc-c14n), ds:SignedInfo,
ds:SignatureValue, ds:KeyInfo, and every UnsignedSignatureProperties child before the first
ArchiveTimeStamp (with the argument `last`: before the last one, a renewal), each exc-c14n; then the
time-stamp token of that ArchiveTimeStamp, base64, on a second line.
"""
import copy
import hashlib
import sys

from lxml import etree

DS = 'http://www.w3.org/2000/09/xmldsig#'
XADES = 'http://uri.etsi.org/01903/v1.3.2#'
XADES141 = 'http://uri.etsi.org/01903/v1.4.1#'


def c14n(element):
    return etree.tostring(element, method='c14n', exclusive=True, with_comments=False)


def main():
    document = etree.fromstring(sys.stdin.buffer.read(), etree.XMLParser(resolve_entities=False, no_network=True))
    tree = document.getroottree()
    signature = tree.find(f'.//{{{DS}}}Signature')
    digest = hashlib.sha256()
    for reference in signature.find(f'{{{DS}}}SignedInfo').findall(f'{{{DS}}}Reference'):
        uri = reference.get('URI')
        if uri == '':
            # Enveloped-signature transform, then exc-c14n of the whole document.
            copied = copy.deepcopy(document)
            for own in copied.iter(f'{{{DS}}}Signature'):
                if own.get('Id') == signature.get('Id'):
                    own.getparent().remove(own)
                    break
            digest.update(c14n(copied))
        else:
            target = tree.xpath('//*[@Id=$id]', id=uri[1:])[0]
            digest.update(c14n(target))
    for name in ('SignedInfo', 'SignatureValue', 'KeyInfo'):
        digest.update(c14n(signature.find(f'{{{DS}}}{name}')))
    unsigned = list(signature.find(f'.//{{{XADES}}}UnsignedSignatureProperties'))
    stamps = [index for index, child in enumerate(unsigned) if child.tag == f'{{{XADES141}}}ArchiveTimeStamp']
    token = None
    if stamps:
        chosen = stamps[-1] if sys.argv[1:] == ['last'] else stamps[0]
        for child in unsigned[:chosen]:
            digest.update(c14n(child))
        token = unsigned[chosen].find(f'{{{XADES}}}EncapsulatedTimeStamp').text
    print(digest.hexdigest())
    print(token or '')


main()
