// `nsq tail`: consume topics on a channel and print every message on stdout — raw bodies as
// nsq_tail prints them, JSON lines, or a template. Owns the output path and the stop sequence.
//
// Output is gathered per event-loop turn and written once. A message is answered (FIN, or REQ with
// --requeue) only after its bytes were accepted by stdout, so a slow reader holds at most
// max-in-flight messages in memory and nsqd stops sending until the reader catches up.

import { randomInt } from 'node:crypto';
import { hostname } from 'node:os';
import type { Writable } from 'node:stream';
import type { Connection, Message } from '../client/connection.js';
import { Consumer } from '../client/consumer.js';
import type { TransportOptions } from '../client/connection.js';
import { useTlsForHttps } from '../client/http.js';
import { formatDuration } from '../util/duration.js';
import { UserError } from '../util/errors.js';
import { Batch, makeFormatter, type Formatter, type Source } from './message-format.js';
import { watchReader } from './reader-watch.js';
import { isNonFatal } from '../protocol/errors.js';

export interface TailOptions {
  topics: string[];
  channel: string;
  nsqdTcpAddresses: string[];
  /** discover the nodes through these lookupds instead */
  lookupdHttpAddresses?: string[];
  lookupdPollInterval?: number;
  userAgent: string;
  /** TLS and compression of the connections */
  transport?: TransportOptions;
  /** AUTH secret for nodes that require it ('' : none) */
  authSecret: string;
  /** messages in flight per topic */
  maxInFlight: number;
  /** stop after this many messages in all (0: never) */
  count: number;
  /** prefix each raw or templated line with `topic | `, as nsq_tail --print-topic */
  printTopic: boolean;
  /** `raw`, `json`, or a template such as `{{timestamp}} {{body}}` */
  format: string;
  /** put every message back (REQ, no delay) instead of finishing it */
  requeue: boolean;
  /** -e: stop once every node says the channels are drained (src/tools/tail-end.ts) */
  exitAtEnd?: boolean;
  /** --since/--from-start: the channel is created at this point first (/channel/create?from=; replay-start.ts) */
  from?: string;
  /** with exitAtEnd or from, and nsqdTcpAddresses: the same nodes' HTTP addresses, in the same order */
  nsqdHttpAddresses?: string[];
}

/** How long a stop waits for the messages in flight to be written and answered. */
const STOP_TIMEOUT_MS = 3000;
/** After the consumers have closed, how long stdout may take to drain before the process exits. */
const EXIT_GRACE_MS = 2000;
/** --requeue: a message seen again is put back after this delay, doubling per return, up to the max. */
const BOUNCE_BASE_MS = 250;
const BOUNCE_MAX_MS = 30_000;
/** --requeue with -n: shown messages are held until the stop, or until none has come for this long. */
const HOLD_IDLE_MS = 1000;
/** --requeue: how many message IDs are remembered so a message is shown only once. */
const SEEN_MAX = 100_000;
/** -e: how often the nodes are asked whether the channels are drained, while nothing is in hand */
const END_POLL_MS = 100;
/** -e: the end is seen this many times in a row, with no message in between (see #watchEnd) */
const END_CONFIRMATIONS = 2;
/** -e: a node that cannot be asked this many times in a row ends the tail with an error */
const END_FAILURES = 3;

/** nsq_tail's default: `tail` + 6 random digits, ephemeral so it vanishes when the tail exits. */
export function randomChannel(): string {
  return `tail${String(randomInt(0, 1_000_000)).padStart(6, '0')}#ephemeral`;
}

// ---- the tail ----------------------------------------------------------------------------------

/** stdout errors that only mean nobody is reading any more (`| head`). */
const READER_GONE = new Set(['EPIPE', 'ECONNRESET', 'ERR_STREAM_DESTROYED']);

export interface TailResult {
  /** why it stopped */
  reason: 'count' | 'signal' | 'reader-gone' | 'output-error' | 'end' | 'end-unknown';
  /** set when writing to the output failed for another reason than the reader leaving, or (-e) no node could say whether the channel is drained */
  error?: Error;
}

export class Tail {
  /** settles once the tail has stopped (-n reached, stop() called, or the reader went away) */
  readonly done: Promise<TailResult>;
  #resolveDone!: (r: TailResult) => void;
  #opts: TailOptions;
  #out: Writable;
  #log: (line: string) => void;
  #format: Formatter;
  #consumers: Consumer[] = [];
  #batch = new Batch();
  /** messages whose lines are in #batch, answered once the batch is written */
  #pending: Message[] = [];
  /** messages handed to stdout whose write has not completed (so not answered yet) */
  #writing = 0;
  /** every message delivered, shown or not: -e sees whether one came between two looks */
  #delivered = 0;
  #endTimer: NodeJS.Timeout | null = null;
  /** --requeue with -n: written, to be put back together once CLS has gone out */
  #held: Message[] = [];
  #holdTimer: NodeJS.Timeout | null = null;
  #flushScheduled = false;
  #blocked = false;
  #outputGone = false;
  #started = false;
  #count = 0;
  #seen = new Map<string, number>();
  #stopping: Promise<TailResult> | null = null;
  #reason: TailResult['reason'] = 'signal';
  #error: Error | undefined;

  constructor(opts: TailOptions, out: Writable, log: (line: string) => void) {
    this.#opts = opts;
    this.#out = out;
    this.#log = log;
    this.#format = makeFormatter(opts.format, opts.printTopic);
    this.done = new Promise((resolve) => (this.#resolveDone = resolve));
    out.on('error', this.#onOutputError);
    out.on('drain', this.#onDrain);
  }

  get stopping(): boolean {
    return this.#stopping !== null;
  }

  /** Subscribes to every topic; rejects (after cleaning up) when no nsqd can be reached. */
  async start(): Promise<void> {
    const o = this.#opts;
    // don't ask for more messages than will be shown
    const maxInFlight = o.count > 0 ? Math.min(o.maxInFlight, o.count) : o.maxInFlight;
    const host = hostname();
    const early: string[] = [];
    for (const topic of o.topics) {
      // what the formatter is told about a message, one object per topic and node
      const sources = new WeakMap<Connection, Source>();
      const source = (conn: Connection): Source => {
        let src = sources.get(conn);
        if (src === undefined) sources.set(conn, (src = { topic, channel: o.channel, nsqd: conn.address }));
        return src;
      };
      const consumer = new Consumer(
        {
          topic,
          channel: o.channel,
          nsqdTcpAddresses: o.nsqdTcpAddresses,
          lookupdHttpAddresses: o.lookupdHttpAddresses,
          lookupdPollInterval: o.lookupdPollInterval,
          maxInFlight,
          autoFinish: false,
          maxBackoff: 0,
          userAgent: o.userAgent,
          ...o.transport,
          authSecret: o.authSecret,
          clientId: host.split('.')[0] ?? host,
          hostname: host,
        },
        (msg) => this.#onMessage(msg, source(msg.connection)),
      );
      consumer.events.error = (err, address) => {
        // E_FIN_FAILED and friends: a message timed out and came back; nothing to tell
        if (this.stopping || isNonFatal(err)) return;
        const line = `${topic} @ ${address}: ${err.message} (retrying)`;
        // before start() settles, failures are told only if some node could be reached after all
        if (this.#started) this.#log(line);
        else early.push(line);
      };
      consumer.events.waiting = (why) => {
        if (this.stopping) return;
        const line = `${topic}: waiting: ${why}; asking lookupd again every ${formatDuration(o.lookupdPollInterval ?? 60_000)}`;
        if (this.#started) this.#log(line);
        else early.push(line);
      };
      this.#consumers.push(consumer);
    }
    try {
      await Promise.all(this.#consumers.map((c) => c.start()));
    } catch (err) {
      await Promise.all(this.#consumers.map((c) => c.stop(0)));
      throw err;
    }
    this.#started = true;
    for (const line of early) this.#log(line);
    if (o.exitAtEnd === true) void this.#watchEnd();
  }

  /**
   * -e: while nothing is in hand (every message shown was written and answered), asks the nodes
   * whether anything is ready or in flight. Our own FINs travel on the TCP connection and /stats on
   * another, so a message just finished may still count as in flight: that only means one more
   * look. The end must be seen END_CONFIRMATIONS times in a row with no delivery in between, which
   * covers a message nsqd has taken off the queue but not yet counted as in flight.
   */
  async #watchEnd(): Promise<void> {
    const { EndCheck } = await import('./tail-end.js');
    const o = this.#opts;
    const check = new EndCheck({
      topics: o.topics,
      channel: o.channel,
      nsqdHttpAddresses: o.nsqdHttpAddresses ?? [],
      nsqdTcpAddresses: o.nsqdTcpAddresses,
      lookupdHttpAddresses: o.lookupdHttpAddresses ?? [],
      authSecret: o.authSecret,
    });
    let seen = 0;
    let failures = 0;
    while (this.#stopping === null) {
      await new Promise<void>((resolve) => (this.#endTimer = setTimeout(resolve, END_POLL_MS)));
      if (this.#stopping !== null) return;
      if (this.#pending.length > 0 || this.#writing > 0 || this.#held.length > 0) {
        seen = 0;
        continue;
      }
      const before = this.#delivered;
      let atEnd: boolean;
      try {
        atEnd = await check.atEnd();
        failures = 0;
      } catch (err) {
        seen = 0;
        // a wrong pairing of addresses will not get better by asking again
        if (++failures < END_FAILURES && (err as { code?: string }).code !== 'E_BAD_PAIR') continue;
        this.#error = err as Error;
        this.#reason = 'end-unknown';
        void this.stop();
        return;
      }
      if (atEnd && this.#delivered === before && this.#pending.length === 0 && this.#writing === 0) {
        if (++seen >= END_CONFIRMATIONS) {
          if (this.#stopping !== null) return;
          this.#reason = 'end';
          void this.stop();
          return;
        }
      } else {
        seen = 0;
      }
    }
  }

  #onMessage(msg: Message, src: Source): void {
    const o = this.#opts;
    this.#delivered++;
    if (this.#outputGone || (o.count > 0 && this.#count >= o.count)) {
      // nobody will see it: put it straight back (after CLS, so it goes to another consumer)
      msg.requeue(0);
      return;
    }
    if (o.requeue) {
      const bounces = this.#seen.get(msg.id);
      if (bounces !== undefined) {
        // shown already and came back to us: put it back later, so the tail does not spin on it
        this.#seen.set(msg.id, bounces + 1);
        msg.requeue(Math.min(BOUNCE_BASE_MS * 2 ** bounces, BOUNCE_MAX_MS));
        return;
      }
      this.#seen.set(msg.id, 0);
      if (this.#seen.size > SEEN_MAX) this.#seen.delete(this.#seen.keys().next().value!);
    }
    this.#format(msg, src, this.#batch);
    this.#pending.push(msg);
    this.#count++;
    if (o.requeue && o.count > 0) {
      if (this.#holdTimer === null) this.#holdTimer = setTimeout(this.#release, HOLD_IDLE_MS).unref();
      else this.#holdTimer.refresh();
    }
    if (o.count > 0 && this.#count === o.count) {
      this.#reason = 'count';
      void this.stop();
      return;
    }
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      setImmediate(this.#flush);
    }
  }

  #flush = (): void => {
    this.#flushScheduled = false;
    if (this.#blocked || this.#pending.length === 0) return;
    const msgs = this.#pending;
    this.#pending = [];
    if (this.#outputGone) {
      this.#batch.take();
      for (const m of msgs) m.requeue(0);
      return;
    }
    this.#writing += msgs.length;
    const ok = this.#out.write(this.#batch.take(), (err) => {
      this.#writing -= msgs.length;
      if (err) {
        for (const m of msgs) m.requeue(0);
        return;
      }
      for (const m of msgs) this.#answer(m);
    });
    if (!ok) this.#blocked = true;
  };

  /** A message was written: FIN; with --requeue, REQ — held first with -n (see #held). */
  #answer(m: Message): void {
    const o = this.#opts;
    if (!o.requeue) m.finish();
    // put back now, it would come straight back to this tail until CLS: with -n, wait for the stop
    else if (o.count > 0 && this.#stopping === null) this.#held.push(m);
    else m.requeue(0);
  }

  /** Puts the held messages back: at the stop (after CLS), or when no message came for a while. */
  #release = (): void => {
    for (const m of this.#held.splice(0)) m.requeue(0);
  };

  #onDrain = (): void => {
    this.#blocked = false;
    this.#flush();
  };

  /** The reader of the output has gone (noticed without a write: src/tools/reader-watch.ts). */
  readerGone(): void {
    const err: NodeJS.ErrnoException = new Error('the reader of the output has gone');
    err.code = 'EPIPE';
    this.#onOutputError(err);
  }

  #onOutputError = (err: NodeJS.ErrnoException): void => {
    if (this.#outputGone) return;
    this.#outputGone = true;
    if (!READER_GONE.has(err.code ?? '')) this.#error = err;
    this.#reason = this.#error ? 'output-error' : 'reader-gone';
    this.#batch.take();
    for (const m of this.#pending.splice(0)) m.requeue(0);
    void this.stop();
  };

  /**
   * CLS on every connection, writes what is gathered, waits (bounded) for the messages in
   * flight to be answered, closes. Resolves with why it stopped.
   */
  stop(): Promise<TailResult> {
    if (this.#stopping !== null) return this.#stopping;
    this.#stopping = (async () => {
      // CLS goes out before the answers of the last batch: nsqd sends nothing more meanwhile
      const stops = this.#consumers.map((c) => c.stop(STOP_TIMEOUT_MS));
      if (this.#holdTimer !== null) clearTimeout(this.#holdTimer);
      if (this.#endTimer !== null) clearTimeout(this.#endTimer);
      this.#release();
      this.#flush();
      await Promise.all(stops);
      this.#out.off('drain', this.#onDrain);
      const result: TailResult = this.#error ? { reason: this.#reason, error: this.#error } : { reason: this.#reason };
      this.#resolveDone(result);
      return result;
    })();
    return this.#stopping;
  }
}

/** Runs a tail on stdout until -n is reached, a signal arrives or the reader goes away. */
export async function runTail(opts: TailOptions): Promise<void> {
  if (opts.transport !== undefined) await useTlsForHttps(opts.transport);
  const out = process.stdout;
  const tail = new Tail(opts, out, (line) => process.stderr.write(`nsq tail: ${line}\n`));
  const onSignal = (signal: NodeJS.Signals): void => {
    // a second signal means now
    if (tail.stopping) process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGHUP' ? 1 : 15));
    void tail.stop();
  };
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  for (const s of signals) process.on(s, onSignal);
  // `| head`: stop when the reader goes, even when no message comes to be written
  const stopWatching = watchReader(out, 1, () => tail.readerGone());
  let undoStart: (() => Promise<void>) | null = null;
  try {
    if (opts.from !== undefined) {
      const { createChannelsFrom } = await import('./replay-start.js');
      const { warnings, undo } = await createChannelsFrom({
        topics: opts.topics,
        channel: opts.channel,
        from: opts.from,
        nsqdHttpAddresses: opts.nsqdHttpAddresses ?? [],
        lookupdHttpAddresses: opts.lookupdHttpAddresses ?? [],
        authSecret: opts.authSecret,
        flag: opts.from === 'earliest' ? '--from-start' : '--since',
      });
      for (const w of warnings) process.stderr.write(`nsq tail: ${w}\n`);
      undoStart = undo;
    }
    try {
      await tail.start();
    } catch (err) {
      // a replaying channel nobody reads would hold the journal: it goes with the failed start
      await undoStart?.();
      throw new UserError(err instanceof Error ? err.message : String(err), (err as { code?: string }).code ?? 'E_CONNECT', 1);
    }
    const result = await tail.done;
    if (result.reason === 'end-unknown') {
      throw new UserError(`--exit-at-end: cannot tell whether the channel is drained: ${result.error?.message ?? 'no answer'}`, (result.error as { code?: string } | undefined)?.code ?? 'E_HTTP', 1);
    }
    if (result.error) throw new UserError(`write to stdout: ${result.error.message}`, 'E_OUTPUT', 1);
  } finally {
    stopWatching();
    for (const s of signals) process.off(s, onSignal);
  }
  // what is written reaches the reader before exit; a reader that stopped reading gets EXIT_GRACE_MS.
  // (Exit explicitly: after EPIPE, Node keeps the stdout pipe handle alive.)
  await drained(out, EXIT_GRACE_MS);
  process.exit(0);
}

/** Resolves once `out` has nothing buffered (or failed), or after `timeoutMs`. */
function drained(out: Writable, timeoutMs: number): Promise<void> {
  if (out.writableLength === 0 || out.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, timeoutMs);
    function done(): void {
      clearTimeout(timer);
      out.off('drain', done);
      out.off('error', done);
      resolve();
    }
    out.once('drain', done);
    out.once('error', done);
  });
}
