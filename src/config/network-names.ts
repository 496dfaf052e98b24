import { isIP } from 'node:net';

/*
 * Host names, addresses, CIDR blocks and HOST:PORT pairs as an operator types them in flags.
 * Validation only: the outbound address policy decides what they allow, after DNS resolution.
 */

// RFC 1123 labels; '_' is tolerated because container platforms hand out names like `my_service`.
const hostNamePattern =
  /^(?=.{1,253}\.?$)[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*\.?$/i;

export function isHostName(text: string): boolean {
  return hostNamePattern.test(text) && !/^[\d.]+$/.test(text);
}

/** An IP address (IPv6 with or without brackets) or a host name. */
export function isHost(text: string): boolean {
  return isIP(unbracket(text)) !== 0 || isHostName(text);
}

/**
 * One `--outbound-allow` entry, normalized: a host name (lower case), an IP address, or a CIDR
 * block `address/prefix`; undefined when it is none of these.
 */
export function parseHostOrCidr(text: string): string | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) {
    const host = unbracket(text);
    if (isIP(host) !== 0) return host.toLowerCase();
    return isHostName(text) ? text.toLowerCase() : undefined;
  }
  const address = unbracket(text.slice(0, slash));
  const prefix = text.slice(slash + 1);
  const version = isIP(address);
  if (version === 0 || !/^\d{1,3}$/.test(prefix)) return undefined;
  if (Number(prefix) > (version === 4 ? 32 : 128)) return undefined;
  return `${address.toLowerCase()}/${Number(prefix)}`;
}

/** `HOST:PORT` where HOST is a name, an IPv4 address or a bracketed IPv6 address; PORT 1–65535. */
export function isHostPort(text: string): boolean {
  const match = /^(.+):(\d{1,5})$/.exec(text);
  if (!match) return false;
  const [, host, port] = match;
  // Port 0 is accepted: it means "the port actually bound" and is filled in after listening.
  if (Number(port) > 65535) return false;
  if (host.startsWith('[')) return host.endsWith(']') && isIP(unbracket(host)) === 6;
  return isIP(host) === 4 || isHostName(host);
}

function unbracket(text: string): string {
  return text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
}
