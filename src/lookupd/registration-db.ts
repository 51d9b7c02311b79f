// nsqlookupd's registration database: (category, key, subkey) → the producers registered under it.
// Categories are "client" (every identified nsqd), "topic" (key = topic) and "channel" (key = topic,
// subkey = channel). A registration outlives its producers, as in nsqlookupd: a topic stays listed
// after its last nsqd leaves, until it is deleted.

export const CATEGORY_CLIENT = 'client';
export const CATEGORY_TOPIC = 'topic';
export const CATEGORY_CHANNEL = 'channel';

/** Matches any key or subkey in the find methods. */
export const ANY = '*';

/** What an nsqd tells about itself in IDENTIFY; shared by all of its producers. */
export interface PeerInfo {
  /** the connection's remote address: unique per connection */
  readonly id: string;
  remoteAddress: string;
  hostname: string;
  broadcastAddress: string;
  tcpPort: number;
  httpPort: number;
  version: string;
  /** last IDENTIFY or PING, ms since the epoch */
  lastUpdate: number;
}

/** One peer's presence under one registration; tombstones are per registration. */
export class Producer {
  readonly peer: PeerInfo;
  tombstoned = false;
  /** ms since the epoch; 0 while not tombstoned */
  tombstonedAt = 0;

  constructor(peer: PeerInfo) {
    this.peer = peer;
  }

  tombstone(now = Date.now()): void {
    this.tombstoned = true;
    this.tombstonedAt = now;
  }

  isTombstoned(lifetimeMs: number, now = Date.now()): boolean {
    return this.tombstoned && now - this.tombstonedAt < lifetimeMs;
  }
}

export class Registration {
  readonly category: string;
  readonly key: string;
  readonly subkey: string;
  /** by peer id */
  readonly producers = new Map<string, Producer>();

  constructor(category: string, key: string, subkey: string) {
    this.category = category;
    this.key = key;
    this.subkey = subkey;
  }

  matches(category: string, key: string, subkey: string): boolean {
    return category === this.category && (key === ANY || key === this.key) && (subkey === ANY || subkey === this.subkey);
  }
}

// NUL cannot occur in a registered name, so the joined key is unambiguous
const mapKey = (category: string, key: string, subkey: string): string => `${category}\0${key}\0${subkey}`;

export class RegistrationDB {
  /** insertion-ordered, so listings are stable */
  readonly #regs = new Map<string, Registration>();

  /** Adds a registration without producers (HTTP /topic/create, /channel/create); keeps an existing one. */
  addRegistration(category: string, key: string, subkey: string): Registration {
    const k = mapKey(category, key, subkey);
    let r = this.#regs.get(k);
    if (r === undefined) {
      r = new Registration(category, key, subkey);
      this.#regs.set(k, r);
    }
    return r;
  }

  /** Adds the peer under a registration (creating it); false when it was already there. */
  addProducer(category: string, key: string, subkey: string, peer: PeerInfo): boolean {
    const r = this.addRegistration(category, key, subkey);
    if (r.producers.has(peer.id)) return false;
    r.producers.set(peer.id, new Producer(peer));
    return true;
  }

  /** Removes a peer from a registration; the registration itself stays. */
  removeProducer(r: Registration, peerId: string): { removed: boolean; left: number } {
    const removed = r.producers.delete(peerId);
    return { removed, left: r.producers.size };
  }

  removeRegistration(r: Registration): void {
    const k = mapKey(r.category, r.key, r.subkey);
    if (this.#regs.get(k) === r) this.#regs.delete(k);
  }

  get(category: string, key: string, subkey: string): Registration | undefined {
    return this.#regs.get(mapKey(category, key, subkey));
  }

  /** Registrations matching; key and subkey may be ANY. */
  find(category: string, key: string, subkey: string): Registration[] {
    if (key !== ANY && subkey !== ANY) {
      const r = this.get(category, key, subkey);
      return r === undefined ? [] : [r];
    }
    const out: Registration[] = [];
    for (const r of this.#regs.values()) if (r.matches(category, key, subkey)) out.push(r);
    return out;
  }

  /** Producers under the matching registrations, one per peer. */
  findProducers(category: string, key: string, subkey: string): Producer[] {
    const seen = new Set<string>();
    const out: Producer[] = [];
    for (const r of this.find(category, key, subkey)) {
      for (const p of r.producers.values()) {
        if (seen.has(p.peer.id)) continue;
        seen.add(p.peer.id);
        out.push(p);
      }
    }
    return out;
  }

  /** Every registration the peer is in. */
  lookupRegistrations(peerId: string): Registration[] {
    const out: Registration[] = [];
    for (const r of this.#regs.values()) if (r.producers.has(peerId)) out.push(r);
    return out;
  }

  all(): IterableIterator<Registration> {
    return this.#regs.values();
  }
}

/**
 * Producers that pinged within `inactiveMs` and are not tombstoned (a lifetime of 0 ignores
 * tombstones, as /nodes does).
 */
export function filterActive(producers: readonly Producer[], inactiveMs: number, tombstoneLifetimeMs: number, now = Date.now()): Producer[] {
  return producers.filter((p) => !(now - p.peer.lastUpdate > inactiveMs || p.isTombstoned(tombstoneLifetimeMs, now)));
}

/** A peer as /lookup shows it (nsqlookupd's PeerInfo JSON, in its field order). */
export function peerJson(p: PeerInfo): Record<string, string | number> {
  return {
    remote_address: p.remoteAddress,
    hostname: p.hostname,
    broadcast_address: p.broadcastAddress,
    tcp_port: p.tcpPort,
    http_port: p.httpPort,
    version: p.version,
  };
}
