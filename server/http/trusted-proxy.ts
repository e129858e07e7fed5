// Which peers may speak for the browser behind them: the reverse proxies named by --trusted-proxy.
// Only a request whose TCP peer is one of them has its X-Forwarded-Proto/Host/For believed (by
// express's req.protocol, req.host and req.ip, for which `trustFn` is the 'trust proxy' setting), and
// only one hop deep: the address that proxy saw is the client, whatever else the header claims.
import type { IncomingMessage } from 'node:http';
import { BlockList, isIP } from 'node:net';

/** `::ffff:127.0.0.1` (an IPv4 peer on a dual-stack socket) is 127.0.0.1. */
function plainAddress(addr: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(addr);
  return m?.[1] ?? addr;
}

export class TrustedProxies {
  readonly #list = new BlockList();
  readonly #count: number;

  /** `addresses`: IPs or CIDR ranges, already validated by the configuration. */
  constructor(addresses: readonly string[]) {
    for (const a of addresses) {
      const [addr = '', prefix] = a.split('/');
      const type = isIP(addr) === 6 ? 'ipv6' : 'ipv4';
      if (prefix === undefined) this.#list.addAddress(addr, type);
      else this.#list.addSubnet(addr, Number(prefix), type);
    }
    this.#count = addresses.length;
  }

  /** Whether a peer address is a trusted proxy. */
  has(addr: string | undefined): boolean {
    if (this.#count === 0 || !addr) return false;
    const plain = plainAddress(addr);
    const family = isIP(plain);
    if (family === 0) return false;
    return this.#list.check(plain, family === 6 ? 'ipv6' : 'ipv4');
  }

  /** Whether this request arrived from a trusted proxy (so its forwarded headers count). */
  forwarded(req: IncomingMessage): boolean {
    return this.has(req.socket.remoteAddress);
  }

  /** express's 'trust proxy' function: the immediate peer only, never a hop it reports. */
  readonly trustFn = (addr: string, hop: number): boolean => hop === 0 && this.has(addr);
}
