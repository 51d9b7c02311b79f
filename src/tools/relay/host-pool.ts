// Which destination a message goes to, for nsq to-http and nsq to-nsq (--mode): round-robin, or
// go-hostpool's standard pool (round-robin over the hosts not marked failed; a failed host is
// tried again after 30 s, then 60 s, ... up to 15 min; when every host is down, all are tried again).

export const MODES = ['round-robin', 'hostpool', 'epsilon-greedy'] as const;
export type Mode = (typeof MODES)[number];

/** go-hostpool's defaults (hostpool.New). */
const INITIAL_RETRY_MS = 30_000;
const MAX_RETRY_MS = 900_000;

interface Host {
  address: string;
  dead: boolean;
  retryDelay: number;
  nextRetry: number;
}

export class HostPool {
  readonly addresses: readonly string[];
  #mode: Mode;
  #hosts: Host[];
  #next = 0;
  #now: () => number;

  constructor(addresses: readonly string[], mode: Mode, now: () => number = Date.now) {
    if (addresses.length === 0) throw new Error('HostPool needs at least one address');
    this.addresses = addresses;
    this.#mode = mode;
    this.#now = now;
    this.#hosts = addresses.map((address) => ({ address, dead: false, retryDelay: 0, nextRetry: 0 }));
  }

  /** The address for the next message. */
  pick(): string {
    const n = this.#hosts.length;
    if (this.#mode === 'round-robin') {
      const h = this.#hosts[this.#next % n]!;
      this.#next = (this.#next + 1) % n;
      return h.address;
    }
    // hostpool (and epsilon-greedy, which picks the same way here: see the README)
    const now = this.#now();
    for (let i = 0; i < n; i++) {
      const index = (this.#next + i) % n;
      const h = this.#hosts[index]!;
      if (!h.dead || h.nextRetry <= now) {
        if (h.dead) {
          // one message is let through to see whether it is back; the next wait is longer
          h.retryDelay = Math.min(h.retryDelay * 2, MAX_RETRY_MS);
          h.nextRetry = now + h.retryDelay;
        }
        this.#next = index + 1;
        return h.address;
      }
    }
    // every host is down: forget what is known and start again from the first
    for (const h of this.#hosts) h.dead = false;
    this.#next = 1;
    return this.#hosts[0]!.address;
  }

  /** How a request to `address` went: a failure takes it out of the hostpool for a while. */
  mark(address: string, ok: boolean): void {
    if (this.#mode === 'round-robin') return;
    const h = this.#hosts.find((x) => x.address === address);
    if (h === undefined) return;
    if (ok) {
      h.dead = false;
      return;
    }
    if (h.dead) return;
    h.dead = true;
    h.retryDelay = INITIAL_RETRY_MS;
    h.nextRetry = this.#now() + INITIAL_RETRY_MS;
  }
}
