// How many journal records were committed after a given commit: the lag in messages of a replica
// whose last confirmation was that commit (docs/replication.md, Visibility). One entry per counted
// commit (not per message), dropped once every replica confirmed past it, and at most MAX kept (a
// replica away for longer than that reads a lower bound).

const MAX = 100_000;

export class CommitCounts {
  /** [seq, total after it, seq, total, ...] from #head on */
  #h: number[] = [];
  #head = 0;
  /** the total of the newest entry dropped from the front */
  #pruned = 0;
  total = 0;

  /** Commit `seq` made `records` more durable; entries at or below `confirmedBySlowest` can go. */
  add(seq: number, records: number, confirmedBySlowest: number): void {
    this.total += records;
    const h = this.#h;
    h.push(seq, this.total);
    while (this.#head + 2 < h.length && (h[this.#head + 2]! <= confirmedBySlowest || h.length - this.#head > MAX * 2)) {
      this.#pruned = h[this.#head + 1]!;
      this.#head += 2;
    }
    if (this.#head > 4096 && this.#head * 2 > h.length) {
      this.#h = h.slice(this.#head);
      this.#head = 0;
    }
  }

  /** Records committed after commit `seq`. */
  after(seq: number): number {
    const h = this.#h;
    let lo = this.#head / 2;
    let hi = h.length / 2 - 1;
    if (hi < lo || h[hi * 2]! <= seq) return 0;
    // the newest entry at or below seq
    let at = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (h[mid * 2]! <= seq) {
        at = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return this.total - (at < 0 ? this.#pruned : h[at * 2 + 1]!);
  }
}
