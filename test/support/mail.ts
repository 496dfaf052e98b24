/**
 * The decoded text/plain and text/html parts of an account e-mail as Signet writes it (RFC 5322 with
 * MIME: base64 UTF-8 bodies, multipart/alternative when there is HTML), and its header block.
 */
export function mailParts(eml: string): { text: string; html: string; headers: string } {
  const [headers] = eml.split('\r\n\r\n');
  const part = (type: string) => {
    const match = new RegExp(`Content-Type: ${type}; charset=utf-8\\r\\nContent-Transfer-Encoding: base64\\r\\n\\r\\n([A-Za-z0-9+/=\\r\\n]+)`).exec(eml);
    return match ? Buffer.from(match[1].replace(/\s+/g, ''), 'base64').toString('utf8') : '';
  };
  return { text: part('text/plain'), html: part('text/html'), headers };
}
