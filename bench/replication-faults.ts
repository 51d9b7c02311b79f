// The replication fault-injection harness (issue #13, docs/replication.md): a ring of `nsq serve`
// with 2 lookupds (test/helpers/replication-cluster.ts), 4 publishers spread over the nodes (PUB
// waiting for each OK, MPUB batches, DPUB with a short defer, HTTP /pub and /mpub) recording every
// body answered OK, and two consumers found through lookupd (ours and nsqjs's Reader) FINing
// everything on one channel. Rounds of faults: kill -9 with the data path deleted and an empty
// restart, kill -9 and a restart with the disk, SIGSTOP past the failover timeout, the proxied
// replication link cut. After each round the publishers stop, the cluster gets back in sync and the
// channel is drained: acknowledged and never delivered must be 0; duplicates and the failover time
// are measured. The same rounds against plain or durable-only nodes are the controls (they lose).
// Used by test/integration/replication-faults.test.ts (short) and by
// `npm run bench -- --only replication-faults` (long).

import { writeFileSync } from 'node:fs';
import nsq from 'nsqjs';
import { setTimeout as sleep } from 'node:timers/promises';
import { Connection, NsqError } from '../src/client/connection.js';
import { Consumer } from '../src/client/consumer.js';
import { ReplicationCluster, type ClusterMode, type Teardown } from '../test/helpers/replication-cluster.js';

const TOPIC = 'faults';
const CHANNEL = 'work';
const MPUB_BATCH = 10;
const HTTP_MPUB_BATCH = 5;
/** long enough that a node always holds deferred messages when it fails: the controls must lose some */
const DPUB_DEFER_MS = 1000;
/** DPUBs written together on one connection, each answered (and counted) on its own */
const DPUB_BURST = 10;
/** a publish not answered within this is unknown (a paused node never answers) */
const PUBLISH_TIMEOUT_MS = 3000;
/** after a failed publish a publisher waits this long before its next one */
const ERROR_PAUSE_MS = 50;
/** the drain ends this long after the last delivery once every acknowledged body arrived */
const SETTLE_MS = 300;
/** ... or, with bodies missing, once the cluster holds nothing and nothing arrived for this long */
const QUIET_MS = 1000;
const REFUSALS = new Set(['E_PUB_FAILED', 'E_MPUB_FAILED', 'E_DPUB_FAILED']);

/**
 * wipe: kill -9, rm -rf of the data path, restart empty at once (a replaced machine);
 * restart: kill -9, restart with the disk once the replica took over;
 * restart-quick: kill -9, restart with the disk a quarter of the failover timeout later (meant to be
 *   back inside it; a slow start may still be too late, and the takeover is watched all the same);
 * stop: SIGSTOP until the replica took over, then SIGCONT (split brain);
 * cut: the proxied replication link cut until the replica took over, then restored.
 */
export type FaultKind = 'wipe' | 'restart' | 'restart-quick' | 'stop' | 'cut';

export interface Round {
  fault: FaultKind;
  /** the node the fault hits (for cut: the node whose link is cut, the cluster's proxied link) */
  node: number;
}

export interface FaultOptions {
  mode: ClusterMode;
  rounds: Round[];
  /** --failover-timeout (ms) */
  failoverMs: number;
  /** publishing before each fault (ms) */
  loadMs: number;
  /** publishing after the node is back (ms) */
  afterMs: number;
  /** each publisher's pause between two answered publishes (ms; 0: as fast as answered) */
  pauseMs?: number;
  /** consumers hold each message for a random 0 to 2x this before FIN (ms; default 20): messages are in flight at a fault */
  holdMs?: number;
  /** a drain gives up after this long (ms) */
  drainTimeoutMs?: number;
  /** the node whose link is proxied (cut rounds) */
  proxiedLink?: number;
  /** consume with nsqjs's Reader too (default true); without it every delivery is known by node */
  nsqjs?: boolean;
  /** writes every delivery, the round results and the nodes' logs here (JSON) at the end, to look into duplicates */
  traceFile?: string;
  teardown: Teardown;
  /** a line per round as it ends */
  log?: (line: string) => void;
}

/** What was published and what became of it, in a round or the whole run. */
export interface Tally {
  /** bodies answered OK */
  acked: number;
  /** answered with an error (refused while degraded) */
  refused: number;
  /** sent and never answered (connection lost, timed out) */
  unknown: number;
  /** acknowledged and never delivered (must be 0 with replication) */
  lost: number;
  /** up to 20 of them */
  lostBodies: string[];
  /** deliveries beyond the first of each body */
  duplicates: number;
  /** refused bodies that were delivered anyway (must be 0) */
  refusedDelivered: number;
}

export interface RoundResult extends Tally {
  fault: FaultKind;
  /** name of the node hit, and of its replica (null without replication) */
  node: string;
  replica: string | null;
  /** in flight on the node hit, just before the fault */
  inFlightAtFault: number;
  /** messages taken over in this round (by the replica, and by any other node) */
  takenOver: number;
  /** messages the node hit took back from its replica's copy (a wipe round, restarted inside the timeout) */
  restored: number;
  /** fault → the replica's takeover (from its /stats); null: none seen */
  takeoverMs: number | null;
  /** fault → the first delivery by another node of a body published to the node hit in this round */
  firstDeliveryMs: number | null;
  /** messages the cluster still held when the drain gave up (NaN: a node did not answer) */
  heldAtEnd: number;
  seconds: number;
}

/** The whole run: its rounds, and the tally over all of them. */
export interface FaultsResult extends Tally {
  rounds: RoundResult[];
  deliveries: number;
  /** acknowledged bodies per second of the run */
  ackedPerSec: number;
  /** starting the cluster */
  startSeconds: number;
  seconds: number;
}

type Outcome = 'ok' | 'refused' | 'unknown' | 'unsent';
type Kind = 'pub' | 'mpub' | 'dpub' | 'http';
const KINDS: readonly Kind[] = ['pub', 'mpub', 'dpub', 'http'];

/** Everything published and delivered: bodies are `<round>.<node>.<kind>.<seq>`, each unique. */
class Ledger {
  acked = new Set<string>();
  refused = new Set<string>();
  unknown = 0;
  /** deliveries per body */
  seen = new Map<string, number>();
  deliveries = 0;
  lastDelivery = 0;
  /** the fault being watched: the first delivery of its node's bodies by another node */
  watch: { round: number; node: number; firstAt: number | null } | null = null;
  #seq = 0;

  bodies(round: number, node: number, kind: Kind, n: number): string[] {
    return Array.from({ length: n }, () => `${round}.${node}.${kind}.${this.#seq++}`);
  }

  settle(bodies: string[], outcome: Outcome): void {
    if (outcome === 'ok') for (const b of bodies) this.acked.add(b);
    else if (outcome === 'refused') for (const b of bodies) this.refused.add(b);
    else if (outcome === 'unknown') this.unknown += bodies.length;
  }

  /** with a trace: every delivery as [body, node or null (nsqjs), epoch ms] */
  trace: Array<[string, number | null, number]> | null = null;

  delivered(body: string, by: number | null): void {
    this.trace?.push([body, by, Date.now()]);
    this.seen.set(body, (this.seen.get(body) ?? 0) + 1);
    this.deliveries++;
    this.lastDelivery = Date.now();
    const w = this.watch;
    if (w === null || w.firstAt !== null || by === null) return;
    const [round, node] = body.split('.', 2).map(Number);
    if (round === w.round && node === w.node && by !== w.node) w.firstAt = Date.now();
  }

  /** acknowledged bodies of `round` (all rounds: undefined) that were never delivered */
  missing(round?: number): string[] {
    const out: string[] = [];
    const prefix = round === undefined ? '' : `${round}.`;
    for (const b of this.acked) if (b.startsWith(prefix) && !this.seen.has(b)) out.push(b);
    return out;
  }

  get duplicates(): number {
    return this.deliveries - this.seen.size;
  }
}

/** Rejects after `ms`; a value that arrives later is handed to `late` (to close what it opened). */
function within<T>(p: Promise<T>, ms: number, late?: (v: T) => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  let timedOut = false;
  p.then(
    (v) => {
      if (timedOut) late?.(v);
    },
    () => {},
  );
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        timedOut = true;
        reject(new Error(`no answer within ${ms} ms`));
      }, ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

const refusedConnection = (err: unknown): boolean => {
  const code = (err as { code?: string; cause?: { code?: string } }).cause?.code ?? (err as { code?: string }).code;
  return code === 'ECONNREFUSED' || code === 'E_CONNECT';
};

/** The 4 publishers: each sends to the nodes in turn, and goes on through refusals and lost nodes. */
class Publishers {
  round = 0;
  #stopped = true;
  #loops: Promise<void>[] = [];
  readonly #c: ReplicationCluster;
  readonly #ledger: Ledger;
  readonly #pauseMs: number;

  constructor(c: ReplicationCluster, ledger: Ledger, pauseMs: number) {
    this.#c = c;
    this.#ledger = ledger;
    this.#pauseMs = pauseMs;
  }

  start(round: number): void {
    this.round = round;
    this.#stopped = false;
    this.#loops = KINDS.map((kind, p) => this.#run(kind, p));
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await Promise.all(this.#loops);
  }

  async #run(kind: Kind, p: number): Promise<void> {
    const conns = new Map<number, Connection>();
    let turn = p;
    while (!this.#stopped) {
      const node = turn++ % this.#c.size;
      const n = kind === 'mpub' ? MPUB_BATCH : kind === 'dpub' ? DPUB_BURST : kind === 'http' && turn % 2 === 0 ? HTTP_MPUB_BATCH : 1;
      const bodies = this.#ledger.bodies(this.round, node, kind, n);
      const outcomes = kind === 'http' ? [await this.#http(node, bodies)] : await this.#tcp(conns, node, kind, bodies);
      // one outcome for all the bodies (one command), or one per body (a burst of DPUBs)
      outcomes.forEach((outcome, i) => this.#ledger.settle(outcomes.length === 1 ? bodies : [bodies[i]!], outcome));
      if (outcomes.some((x) => x !== 'ok')) await sleep(ERROR_PAUSE_MS);
      else if (this.#pauseMs > 0) await sleep(this.#pauseMs);
    }
    for (const c of conns.values()) c.close();
  }

  /** PUB of one body, MPUB of all, or one DPUB per body written together: an outcome per command. */
  async #tcp(conns: Map<number, Connection>, node: number, kind: Kind, bodies: string[]): Promise<Outcome[]> {
    let c = conns.get(node);
    if (c === undefined || c.isClosed) {
      try {
        c = await within(Connection.open({ host: '127.0.0.1', port: this.#c.nodes[node]!.tcp, connectTimeout: 1000 }), PUBLISH_TIMEOUT_MS, (late) => late.close());
      } catch {
        return ['unsent'];
      }
      conns.set(node, c);
    }
    const conn = c;
    const sent = kind === 'pub' ? [conn.publish(TOPIC, bodies[0]!)] : kind === 'mpub' ? [conn.mpublish(TOPIC, bodies)] : bodies.map((b) => conn.dpublish(TOPIC, b, DPUB_DEFER_MS));
    const settled = await Promise.allSettled(sent.map((p) => within(p, PUBLISH_TIMEOUT_MS)));
    const outcomes = settled.map((r): Outcome => (r.status === 'fulfilled' ? 'ok' : r.reason instanceof NsqError && REFUSALS.has(r.reason.code) ? 'refused' : 'unknown'));
    if (outcomes.some((x) => x !== 'ok')) {
      conn.close();
      conns.delete(node);
    }
    return outcomes;
  }

  async #http(node: number, bodies: string[]): Promise<Outcome> {
    const path = bodies.length === 1 ? '/pub' : '/mpub';
    try {
      const res = await fetch(`http://127.0.0.1:${this.#c.nodes[node]!.http}${path}?topic=${TOPIC}`, { method: 'POST', body: bodies.join('\n'), signal: AbortSignal.timeout(PUBLISH_TIMEOUT_MS) });
      await res.text();
      return res.status === 200 ? 'ok' : 'refused';
    } catch (err) {
      return refusedConnection(err) ? 'unsent' : 'unknown';
    }
  }
}

/** Our Consumer and nsqjs's Reader, both through the lookupds, FINing everything. */
async function startConsumers(c: ReplicationCluster, ledger: Ledger, holdMs: number, nsqjs: boolean, t: Teardown): Promise<() => Promise<void>> {
  const hold = (): number => Math.random() * 2 * holdMs;
  // the handler's promise resolves after the hold; the Consumer FINs then
  const consumer = new Consumer(
    { topic: TOPIC, channel: CHANNEL, nsqdTcpAddresses: [], lookupdHttpAddresses: c.lookupdHttp, lookupdPollInterval: 250, maxInFlight: 40, maxBackoff: 0, reconnectDelay: 250 },
    (m) => {
      ledger.delivered(m.body.toString(), c.nodeAt(m.connection.port));
      return sleep(hold());
    },
  );
  consumer.events.error = () => {};
  await consumer.start();
  const reader = new nsq.Reader(TOPIC, CHANNEL, { lookupdHTTPAddresses: c.lookupdHttp, lookupdPollInterval: 1, maxInFlight: 40 });
  reader.on('error', () => {});
  reader.on('message', (m: { body: Buffer; finish(): void }) => {
    ledger.delivered(m.body.toString(), null);
    setTimeout(() => m.finish(), hold());
  });
  if (nsqjs) reader.connect();
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    reader.close();
    await consumer.stop(500);
  };
  t.teardown(stop);
  return stop;
}

/** Until every acknowledged body arrived (then a short settle, for late duplicates), or nothing is left to come. */
async function drain(c: ReplicationCluster, ledger: Ledger, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await sleep(100);
    const quiet = Date.now() - ledger.lastDelivery;
    if (quiet > SETTLE_MS && ledger.missing().length === 0) return 0;
    const held = quiet > QUIET_MS || Date.now() > deadline ? await c.held(TOPIC, CHANNEL) : NaN;
    if (held === 0 || Date.now() > deadline) return held;
  }
}

const takenOverByNode = (c: ReplicationCluster): Promise<number[]> => Promise.all(c.nodes.map((n) => c.takenOverMessages(n.index)));

/** Runs the rounds against a fresh cluster; every process and folder goes with `teardown`. */
export async function runReplicationFaults(o: FaultOptions): Promise<FaultsResult> {
  const started = Date.now();
  const replicated = o.mode === 'replicated';
  const c = await ReplicationCluster.start(o.teardown, { mode: o.mode, failoverMs: o.failoverMs, ...(o.proxiedLink !== undefined ? { proxiedLink: o.proxiedLink } : {}) });
  await c.createChannel(TOPIC, CHANNEL);
  const ledger = new Ledger();
  const startMs = Date.now() - started;
  if (o.traceFile !== undefined) ledger.trace = [];
  const stopConsumers = await startConsumers(c, ledger, o.holdMs ?? 20, o.nsqjs ?? true, o.teardown);
  const publishers = new Publishers(c, ledger, o.pauseMs ?? 0);
  /** how long a takeover may take to show, past the timeout, on a loaded machine */
  const takeoverWait = 4 * o.failoverMs + 5000;
  const results: RoundResult[] = [];
  let publishMs = 0;

  for (let k = 0; k < o.rounds.length; k++) {
    const { fault, node } = o.rounds[k]!;
    const replica = c.replicaOf(node);
    const roundStart = Date.now();
    const before = { acked: ledger.acked.size, refused: ledger.refused.size, unknown: ledger.unknown, duplicates: ledger.duplicates };
    publishers.start(k);
    await sleep(o.loadMs);
    const inFlightAtFault = (await c.channel(node, TOPIC, CHANNEL))?.inFlight ?? 0;
    const takenBefore = await takenOverByNode(c);
    const t0 = Date.now();
    ledger.watch = { round: k, node, firstAt: null };
    // watched from the fault on, whatever the fault: a quick restart may still be too slow
    const watch = replicated ? c.watchTakeover(node, t0, takeoverWait) : null;
    // without replication nothing takes over: the fault lasts as long as a failover would
    const takeover = async (): Promise<unknown> => (watch !== null ? watch.at : sleep(o.failoverMs));
    switch (fault) {
      case 'wipe':
        await c.kill9(node);
        c.wipe(node);
        await c.restart(node);
        // the replica takes the lost incarnation over when the timeout runs out, unless the node restored from it
        break;
      case 'restart':
        await c.kill9(node);
        await takeover();
        await c.restart(node);
        break;
      case 'restart-quick':
        await c.kill9(node);
        await sleep(o.failoverMs / 4);
        await c.restart(node);
        break;
      case 'stop':
        c.pause(node);
        await takeover();
        c.resume(node);
        break;
      case 'cut':
        if (c.proxy === null) throw new Error('a cut round needs proxiedLink');
        c.proxy.cut();
        await takeover();
        c.proxy.restore();
        break;
    }
    await sleep(o.afterMs);
    await publishers.stop();
    // a takeover (or none: restored, back in time) shows within a few timeouts of the fault; the
    // drain must not end before it, as what the replica takes over is in no node's /stats until then
    if (watch !== null) await Promise.race([watch.at, sleep(t0 + 3 * o.failoverMs - Date.now())]);
    watch?.stop();
    const takenAt = watch === null ? null : await watch.at;
    publishMs += Date.now() - roundStart;
    await c.waitInSync();
    const heldAtEnd = await drain(c, ledger, o.drainTimeoutMs ?? 20_000);
    // a counter that went down belongs to a restarted process: all of it is this round's
    const takenOver = (await takenOverByNode(c)).reduce((sum, n, i) => sum + (n >= takenBefore[i]! ? n - takenBefore[i]! : n), 0);
    const lostBodies = ledger.missing(k);
    const r: RoundResult = {
      fault,
      node: c.nodes[node]!.name,
      replica: replicated ? c.nodes[replica]!.name : null,
      acked: ledger.acked.size - before.acked,
      refused: ledger.refused.size - before.refused,
      unknown: ledger.unknown - before.unknown,
      lost: lostBodies.length,
      lostBodies: lostBodies.slice(0, 20),
      duplicates: ledger.duplicates - before.duplicates,
      inFlightAtFault,
      takenOver,
      restored: fault === 'wipe' && replicated ? await c.restoredMessages(node) : 0,
      takeoverMs: takenAt === null ? null : takenAt - t0,
      firstDeliveryMs: ledger.watch.firstAt === null ? null : ledger.watch.firstAt - t0,
      refusedDelivered: [...ledger.refused].filter((b) => b.startsWith(`${k}.`) && ledger.seen.has(b)).length,
      heldAtEnd,
      seconds: (Date.now() - roundStart) / 1000,
    };
    ledger.watch = null;
    results.push(r);
    o.log?.(describeRound(k, r));
  }
  await stopConsumers();
  if (o.traceFile !== undefined) writeFileSync(o.traceFile, JSON.stringify({ deliveries: ledger.trace, rounds: results, logs: c.logs() }));
  const lost = ledger.missing();
  return {
    rounds: results,
    acked: ledger.acked.size,
    refused: ledger.refused.size,
    unknown: ledger.unknown,
    lost: lost.length,
    lostBodies: lost.slice(0, 20),
    duplicates: ledger.duplicates,
    deliveries: ledger.deliveries,
    refusedDelivered: [...ledger.refused].filter((b) => ledger.seen.has(b)).length,
    ackedPerSec: Math.round(ledger.acked.size / (publishMs / 1000)),
    startSeconds: startMs / 1000,
    seconds: (Date.now() - started) / 1000,
  };
}

const ms = (x: number | null): string => (x === null ? '-' : `${x} ms`);

export function describeRound(k: number, r: RoundResult): string {
  return (
    `round ${k + 1} ${r.fault} ${r.node}${r.replica === null ? '' : ` (replica ${r.replica})`}: ${r.acked} acked, ${r.refused} refused, ${r.unknown} unanswered; ` +
    `${r.lost} lost; ${r.duplicates} duplicates (in flight at the fault ${r.inFlightAtFault}, taken over ${r.takenOver}${r.fault === 'wipe' ? `, restored ${r.restored}` : ''}); ` +
    `takeover after ${ms(r.takeoverMs)}, first delivery by another node after ${ms(r.firstDeliveryMs)}; ${r.seconds.toFixed(1)} s`
  );
}

export interface FaultSummary {
  fault: FaultKind;
  rounds: number;
  acked: number;
  lost: number;
  duplicates: number;
  /** the most duplicates one round of this kind cost */
  maxDuplicates: number;
  /** messages in flight on the node hit, summed over the rounds */
  inFlightAtFault: number;
  takenOver: number;
  restored: number;
  /** fault → takeover, per round (ms; rounds without one left out) */
  takeoverMs: number[];
  firstDeliveryMs: number[];
}

/** The rounds grouped by fault kind: what each kind costs. */
export function summarize(rounds: RoundResult[]): FaultSummary[] {
  const by = new Map<FaultKind, FaultSummary>();
  for (const r of rounds) {
    let s = by.get(r.fault);
    if (s === undefined) by.set(r.fault, (s = { fault: r.fault, rounds: 0, acked: 0, lost: 0, duplicates: 0, maxDuplicates: 0, inFlightAtFault: 0, takenOver: 0, restored: 0, takeoverMs: [], firstDeliveryMs: [] }));
    s.rounds++;
    s.acked += r.acked;
    s.lost += r.lost;
    s.duplicates += r.duplicates;
    s.maxDuplicates = Math.max(s.maxDuplicates, r.duplicates);
    s.inFlightAtFault += r.inFlightAtFault;
    s.takenOver += r.takenOver;
    s.restored += r.restored;
    if (r.takeoverMs !== null) s.takeoverMs.push(r.takeoverMs);
    if (r.firstDeliveryMs !== null) s.firstDeliveryMs.push(r.firstDeliveryMs);
  }
  return [...by.values()];
}

const range = (xs: number[]): string => (xs.length === 0 ? '-' : `${Math.min(...xs)}-${Math.max(...xs)} ms`);

export function describeSummary(s: FaultSummary): string {
  return (
    `${s.fault} x${s.rounds}: ${s.lost} lost of ${s.acked} acked; ${s.duplicates} duplicates (at most ${s.maxDuplicates} in a round; ` +
    `${s.inFlightAtFault} in flight at the faults, ${s.takenOver} taken over${s.fault === 'wipe' ? `, ${s.restored} restored` : ''}); takeover ${range(s.takeoverMs)}, first delivery by the replica ${range(s.firstDeliveryMs)}`
  );
}
