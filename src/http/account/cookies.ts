/** The cookies a request carries (RFC 6265 §5.4), by name; later duplicates do not override. */
export function readCookies(header: string | undefined): Map<string, string> {
  const cookies = new Map<string, string>();
  for (const pair of (header ?? '').split(';')) {
    const at = pair.indexOf('=');
    if (at < 1) continue;
    const name = pair.slice(0, at).trim();
    if (!cookies.has(name)) cookies.set(name, pair.slice(at + 1).trim().replace(/^"(.*)"$/, '$1'));
  }
  return cookies;
}

export interface CookieOptions {
  maxAgeSeconds: number;
  /** Only over HTTPS: set when the service's public URL is https. */
  secure: boolean;
  path: string;
}

/** HttpOnly (no script reads it) and SameSite=Lax (no other site's form posts it), always. */
export function setCookie(name: string, value: string, options: CookieOptions): string {
  return [`${name}=${value}`, `Path=${options.path}`, `Max-Age=${options.maxAgeSeconds}`, 'HttpOnly', 'SameSite=Lax', ...(options.secure ? ['Secure'] : [])].join('; ');
}
