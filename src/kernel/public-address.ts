import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import { lookup } from "node:dns/promises";
import { BlockList, isIP, type LookupFunction } from "node:net";

/**
 * Addresses a server-side request must not reach unless private networks are allowed (SSRF):
 * loopback, private, carrier-grade NAT, link-local (cloud metadata at 169.254.169.254 included),
 * "this network", multicast, reserved and broadcast ranges, and their IPv6 counterparts (IPv4
 * mapped into IPv6 is judged as the IPv4 it maps).
 */
const BLOCKED = new BlockList();
for (const [net, prefix] of [
  ["0.0.0.0", 8],
  ["10.0.0.0", 8],
  ["100.64.0.0", 10],
  ["127.0.0.0", 8],
  ["169.254.0.0", 16],
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.0.2.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["198.51.100.0", 24],
  ["203.0.113.0", 24],
  ["224.0.0.0", 4],
  ["240.0.0.0", 4],
] as const) {
  BLOCKED.addSubnet(net, prefix, "ipv4");
}
for (const [net, prefix] of [
  ["::", 128],
  ["::1", 128],
  ["64:ff9b::", 96],
  ["100::", 64],
  ["2001:db8::", 32],
  ["fc00::", 7],
  ["fe80::", 10],
  ["ff00::", 8],
] as const) {
  BLOCKED.addSubnet(net, prefix, "ipv6");
}

/** Whether `address` (an IP literal) is one the public internet does not route to a third party. */
export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return BLOCKED.check(address, "ipv4");
  if (family === 6) {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
    if (mapped?.[1]) return BLOCKED.check(mapped[1], "ipv4");
    return BLOCKED.check(address, "ipv6");
  }
  return true; // not an address at all: never trusted
}

export type Resolve = (hostname: string) => Promise<string[]>;

/** Every address a name resolves to (the system resolver, as a connection would use it). */
export const systemResolve: Resolve = async (hostname) => (await lookup(hostname, { all: true, verbatim: true })).map((a) => a.address);

/**
 * The addresses of `hostname` (an IP literal is its own), and which of them are private: a name
 * is refused when any of its addresses is (a resolver may answer differently at connect time).
 */
export async function privateAddressesOf(hostname: string, resolve: Resolve = systemResolve): Promise<{ addresses: string[]; private: string[] }> {
  const bare = hostname.startsWith("[") && hostname.endsWith("]") ? hostname.slice(1, -1) : hostname;
  const addresses = isIP(bare) ? [bare] : await resolve(bare);
  return { addresses, private: addresses.filter(isPrivateAddress) };
}

export class RefusedAddress extends Error {}

/**
 * A DNS lookup that refuses private addresses: the check the endpoint's URL passed at creation is
 * made again for the address the connection will use (a name may resolve elsewhere by then: DNS
 * rebinding). Any private address among the answers refuses the name.
 */
export const publicOnlyLookup = (resolve: typeof dnsLookup): LookupFunction => (hostname, options, callback) => {
  resolve(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, "", 0);
    const list = addresses;
    const refused = list.find((a) => isPrivateAddress(a.address));
    if (refused || list.length === 0) {
      return callback(new RefusedAddress(`${hostname} resolves to ${refused?.address ?? "nothing"}, not a public address`), "", 0);
    }
    if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, list);
    return callback(null, list[0].address, list[0].family);
  });
};
