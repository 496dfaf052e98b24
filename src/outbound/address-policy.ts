import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import { SignetError } from '../errors/signet-error.js';

/**
 * The one outbound address policy (DESIGN invariant 7) for URL capture and webhooks: only http(s);
 * no loopback, private, link-local, shared, documentation, multicast or metadata addresses unless
 * `--outbound-allow` lists the host, the address or a CIDR holding it. The check runs on the
 * addresses DNS returns, inside the connection's own lookup, so the address checked is the address
 * connected to (no window for DNS rebinding), and on every redirect hop or retry again.
 */
export class OutboundAddressPolicy {
  private readonly forbidden = new BlockList();
  private readonly allowedAddresses = new BlockList();
  private readonly allowedHosts = new Set<string>();

  constructor(allow: readonly string[]) {
    for (const [network, prefix, family] of forbiddenNetworks) this.forbidden.addSubnet(network, prefix, family);
    for (const entry of allow) {
      const [address, prefix] = entry.split('/');
      const family = isIP(address);
      if (family === 0) this.allowedHosts.add(entry.toLowerCase());
      else if (prefix !== undefined) this.allowedAddresses.addSubnet(address, Number(prefix), family === 6 ? 'ipv6' : 'ipv4');
      else this.allowedAddresses.addAddress(address, family === 6 ? 'ipv6' : 'ipv4');
    }
  }

  /** Scheme and literal-address checks that need no DNS; throws url_not_allowed. */
  checkUrl(raw: string): URL {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new SignetError('url_not_allowed', `"${raw}" is not an absolute URL`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new SignetError('url_not_allowed', `Only http and https URLs are allowed, not ${url.protocol}`);
    }
    const host = bareHost(url.hostname);
    if (isIP(host) && !this.isAllowed(host, host)) throw notAllowed(url.hostname, host);
    return url;
  }

  /** Resolves the URL's host and checks every address it has (for a check before accepting a URL). */
  async checkResolvedUrl(raw: string): Promise<URL> {
    const url = this.checkUrl(raw);
    await new Promise<void>((resolve, reject) =>
      this.lookup(bareHost(url.hostname), { all: true }, (error) => (error ? reject(error) : resolve())),
    );
    return url;
  }

  isAllowed(address: string, hostname: string): boolean {
    const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    if (this.allowedHosts.has(hostname.toLowerCase())) return true;
    if (this.allowedAddresses.check(address, family)) return true;
    return !this.forbidden.check(address, family);
  }

  /**
   * A `dns.lookup` replacement for connections (undici's `connect.lookup`): answers only allowed
   * addresses, and fails with url_not_allowed when the host has any forbidden one — a name that
   * resolves to both a public and a private address is refused rather than raced.
   */
  readonly lookup = (hostname: string, options: object, callback: (...args: any[]) => void): void => {
    const host = bareHost(hostname);
    const all = (options as { all?: boolean }).all === true;
    dnsLookup(host, { all: true }, (error, addresses: LookupAddress[]) => {
      if (error) return callback(error);
      const refused = addresses.find((a) => !this.isAllowed(a.address, host));
      if (refused) return callback(notAllowed(hostname, refused.address));
      if (all) return callback(null, addresses);
      return callback(null, addresses[0].address, addresses[0].family);
    });
  };
}

function notAllowed(hostname: string, address: string): SignetError {
  return new SignetError(
    'url_not_allowed',
    `${hostname} resolves to ${address}, a loopback, private or reserved address; allow it with --outbound-allow if it is meant`,
  );
}

function bareHost(hostname: string): string {
  return hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
}

/** IANA special-purpose registries (RFC 6890 and successors), the ranges a service must not be steered to. */
const forbiddenNetworks: Array<[string, number, 'ipv4' | 'ipv6']> = [
  ['0.0.0.0', 8, 'ipv4'], // "this network"
  ['10.0.0.0', 8, 'ipv4'], // private
  ['100.64.0.0', 10, 'ipv4'], // carrier-grade NAT
  ['127.0.0.0', 8, 'ipv4'], // loopback
  ['169.254.0.0', 16, 'ipv4'], // link-local, cloud metadata (169.254.169.254)
  ['172.16.0.0', 12, 'ipv4'], // private
  ['192.0.0.0', 24, 'ipv4'], // IETF protocol assignments
  ['192.0.2.0', 24, 'ipv4'], // documentation
  ['192.88.99.0', 24, 'ipv4'], // 6to4 relay
  ['192.168.0.0', 16, 'ipv4'], // private
  ['198.18.0.0', 15, 'ipv4'], // benchmarking
  ['198.51.100.0', 24, 'ipv4'], // documentation
  ['203.0.113.0', 24, 'ipv4'], // documentation
  ['224.0.0.0', 4, 'ipv4'], // multicast
  ['240.0.0.0', 4, 'ipv4'], // reserved, broadcast
  ['::', 128, 'ipv6'], // unspecified
  ['::1', 128, 'ipv6'], // loopback
  // IPv4-mapped addresses (::ffff:a.b.c.d) need no rule: BlockList checks them against the IPv4
  // rules above — and a ::ffff:0:0/96 rule would match every IPv4 address too.
  ['64:ff9b::', 96, 'ipv6'], // NAT64
  ['100::', 64, 'ipv6'], // discard
  ['2001::', 32, 'ipv6'], // Teredo: tunnels to IPv4 addresses
  ['2001:db8::', 32, 'ipv6'], // documentation
  ['2002::', 16, 'ipv6'], // 6to4: embeds an IPv4 address
  ['fec0::', 10, 'ipv6'], // deprecated site-local
  ['fc00::', 7, 'ipv6'], // unique local
  ['fe80::', 10, 'ipv6'], // link-local
  ['ff00::', 8, 'ipv6'], // multicast
];
