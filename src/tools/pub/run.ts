// `nsq pub` (to_nsq): records from arguments or stdin, published to every nsqd given (TCP with
// automatic MPUB batching, or HTTP), with every acknowledgement accounted for in the exit code.
// This file is the run: connecting, reading, signals, the exit code and the summary.

import type { NsqError, TransportOptions } from '../../client/connection.js';
import { useTlsForHttps } from '../../client/http.js';
import { UserError } from '../../util/errors.js';
import { HttpDestination, TcpDestination, type Destination } from './destinations.js';
import { formatBytes, num, Progress, type ProgressSetting } from './progress.js';
import { deferTooLong, E_DEFER_TOO_LONG, Publisher } from './publisher.js';
import { readRecords } from './records.js';
import { compileTemplate, hasTemplates } from './templates.js';

export const EXIT_OK = 0;
export const EXIT_CONNECTION = 1;
export const EXIT_USAGE = 2;
export const EXIT_REJECTED = 3;
export const EXIT_SIGINT = 130;
export const EXIT_SIGTERM = 143;

export interface PubConfig {
  /** how the program was invoked ('nsq' or 'to_nsq'): the prefix of every line it prints */
  name: string;
  topic: string;
  /** from the command line; null means read stdin */
  messages: Buffer[] | null;
  /** --count: publish the messages this many times, templates filled in (templates.ts); null: once, as given */
  count: number | null;
  delimiter: Buffer;
  allowEmpty: boolean;
  /** the last record of stdin loses one trailing newline (see RecordOptions) */
  trimFinalNewline: boolean;
  /** records per second; 0 is unlimited */
  rate: number;
  /** DPUB delay in ms; 0 publishes normally */
  deferMs: number;
  http: boolean;
  nsqdTcpAddresses: string[];
  nsqdHttpAddresses: string[];
  /** lookupd HTTP addresses: each record goes to one of the nodes found through them */
  lookupdHttpAddresses: string[];
  userAgent: string;
  /** TLS and compression of the TCP connections */
  transport: TransportOptions;
  /** AUTH secret for nodes that require it ('' : none) */
  authSecret: string;
  progress: ProgressSetting;
  /** --retry: wait out a lost nsqd, re-sending what it did not acknowledge (see PublisherOptions) */
  retry: boolean;
  /** --retry-timeout: with --retry, how long to go on once the input has ended (ms) */
  retryTimeoutMs: number;
}

export async function runPub(cfg: PubConfig): Promise<void> {
  await useTlsForHttps(cfg.transport);
  const spread = cfg.lookupdHttpAddresses.length > 0;
  const addresses = cfg.http ? cfg.nsqdHttpAddresses : cfg.nsqdTcpAddresses;
  if (spread) addresses.push(...(await publishNodes(cfg)));
  const dests: Destination[] = [...new Set(addresses)].map((a) => (cfg.http ? new HttpDestination(a, cfg) : new TcpDestination(a, cfg)));

  // every nsqd must be there before the first record is read; through lookupd, at least one
  const connected = await Promise.allSettled(dests.map((d) => d.connect()));
  const refused = connected.flatMap((r, i) => (r.status === 'rejected' ? [{ d: dests[i]!, err: r.reason as NsqError }] : []));
  if (refused.length > 0 && (!spread || refused.length === dests.length)) {
    await Promise.allSettled(dests.map((d) => d.close()));
    const e = refused[0]!.err;
    throw new UserError(e.message, e.code ?? 'E_CONNECT', EXIT_CONNECTION);
  }
  for (const { d, err } of refused) {
    d.dead = err;
    process.stderr.write(`${cfg.name}: ${err.message}; publishing to the other nsqd\n`);
  }
  // a server that said its --max-req-timeout (HTTP /config) is not sent a DPUB it would refuse
  const short = dests.find((d) => d.dead === null && cfg.deferMs > d.maxDeferMs);
  if (short !== undefined) {
    await Promise.allSettled(dests.map((d) => d.close()));
    const e = deferTooLong(cfg.deferMs, short.maxDeferMs, dests.length > 1 ? ` at ${short.address}` : '');
    throw new UserError(e.message, e.code, EXIT_USAGE);
  }

  // a live line would scribble over the echo of records typed on the same terminal
  const progress = new Progress(process.stderr, cfg.progress, cfg.messages === null && process.stdin.isTTY === true);
  const pub = new Publisher(dests, cfg, progress, spread);
  const started = performance.now();

  let interrupted: NodeJS.Signals | null = null;
  let wake: (() => void) | null = null;
  const stopped = (): boolean => interrupted !== null || pub.fatal !== null;
  const stopReading = (): void => {
    if (cfg.messages === null) process.stdin.destroy();
    wake?.();
  };
  pub.onFatal = (err) => {
    progress.print(`${cfg.name}: ${err.message}`);
    stopReading();
  };
  const onSignal = (sig: NodeJS.Signals): void => {
    if (interrupted !== null) {
      progress.stop();
      process.stderr.write(`${cfg.name}: ${sig} again: exiting with ${pub.pending} message(s) unacknowledged\n`);
      process.exit(sig === 'SIGTERM' ? EXIT_SIGTERM : EXIT_SIGINT);
    }
    interrupted = sig;
    stopReading();
    // a lost nsqd is not waited for any more: what it holds is reported as not acknowledged
    pub.abandon();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  // the rate limit and the unacknowledged-backlog limit; false means stop
  let released = 0;
  const interval = cfg.rate > 0 ? 1000 / cfg.rate : 0;
  const gate = async (): Promise<boolean> => {
    if (stopped()) return false;
    if (pub.full) await pub.roomFor();
    if (interval > 0) {
      const wait = started + released * interval - performance.now();
      if (wait > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, wait);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wake = null;
      }
      released++;
    }
    return !stopped();
  };

  progress.start(() => {
    const secs = (performance.now() - started) / 1000;
    return `${cfg.name}: ${num(pub.acked)} message${pub.acked === 1 ? '' : 's'}  ${formatBytes(pub.ackedBytes)}  ${num(secs > 0 ? pub.acked / secs : 0)} msg/s  ${secs.toFixed(1)}s`;
  });

  let readError: Error | null = null;
  try {
    if (cfg.messages !== null) {
      await publishArguments(cfg, cfg.messages, pub, gate);
    } else {
      await readRecords(process.stdin, cfg, pub, gate, stopped);
    }
  } catch (err) {
    readError = err instanceof Error ? err : new Error(String(err));
  }
  pub.inputEnded();

  await pub.idle();
  await Promise.allSettled(dests.map((d) => d.close()));
  progress.stop();
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);

  if (readError !== null) progress.print(`${cfg.name}: reading stdin: ${readError.message}`);
  const deferRefused = pub.fatal instanceof Error && (pub.fatal as NsqError).code === E_DEFER_TOO_LONG;
  const code =
    deferRefused
      ? EXIT_USAGE
      : pub.fatal !== null || pub.failed > 0 || readError !== null
      ? EXIT_CONNECTION
      : interrupted !== null
        ? interrupted === 'SIGTERM'
          ? EXIT_SIGTERM
          : EXIT_SIGINT
        : pub.rejected > 0
          ? EXIT_REJECTED
          : EXIT_OK;
  // a summary on a terminal or with --progress; after a failure, always (unless --quiet)
  // (a refused --defer published nothing: its one line says it all)
  if (progress.enabled || (code !== EXIT_OK && cfg.progress !== 'never' && !(deferRefused && pub.acked === 0))) {
    progress.print(summary(cfg, pub, dests.length, (performance.now() - started) / 1000, interrupted));
  }
  if (interrupted !== null) {
    // stdin may be a terminal still open for reading: leave now
    process.exit(code);
  }
  process.exitCode = code;
}

/**
 * The messages given as arguments, in order, `count` times over (once without --count); with
 * --count their templates are filled in for each one, numbered from 1 across all of them.
 */
async function publishArguments(cfg: PubConfig, messages: Buffer[], pub: Publisher, gate: () => Promise<boolean>): Promise<void> {
  const bodies = messages.map((m): ((n: number) => Buffer) => {
    const text = m.toString();
    if (cfg.count === null || !hasTemplates(text)) return () => m;
    const t = compileTemplate(text);
    return (n) => Buffer.from(t(n, new Date()));
  });
  const rounds = cfg.count ?? 1;
  let n = 0;
  for (let r = 0; r < rounds; r++) {
    for (const body of bodies) {
      n++;
      const m = body(n);
      if (m.length === 0 && !cfg.allowEmpty) {
        pub.skipped++;
        continue;
      }
      if (!(await gate())) return;
      pub.submit(n, m);
    }
  }
}

/** The nodes lookupd gives for publishing (see lookupPublishNodes), as the addresses this run uses. */
async function publishNodes(cfg: PubConfig): Promise<string[]> {
  const { httpAddressOf, lookupPublishNodes, tcpAddressOf } = await import('../../client/discovery.js');
  let producers;
  try {
    producers = await lookupPublishNodes(cfg.lookupdHttpAddresses, cfg.topic);
  } catch (err) {
    const e = err as NsqError;
    throw new UserError(e.message, e.code ?? 'E_LOOKUPD', EXIT_CONNECTION);
  }
  const own = cfg.http ? cfg.nsqdHttpAddresses : cfg.nsqdTcpAddresses;
  if (producers.length === 0 && own.length === 0) {
    throw new UserError(`no nsqd to publish to: lookupd ${cfg.lookupdHttpAddresses.join(', ')} knows none`, 'E_NO_NODES', EXIT_CONNECTION);
  }
  return producers.map(cfg.http ? httpAddressOf : tcpAddressOf);
}

function summary(cfg: PubConfig, pub: Publisher, nodes: number, secs: number, interrupted: NodeJS.Signals | null): string {
  const rate = secs > 0 ? pub.acked / secs : 0;
  let s = `${cfg.name}: published ${num(pub.acked)} message${pub.acked === 1 ? '' : 's'} (${formatBytes(pub.ackedBytes)}) to ${cfg.topic}`;
  if (nodes > 1) s += cfg.lookupdHttpAddresses.length > 0 ? ` across ${nodes} nsqd` : ` on ${nodes} nsqd`;
  s += ` in ${secs.toFixed(2)}s`;
  // a rate over a few milliseconds means nothing
  if (secs >= 0.5) s += ` (${rate >= 10 ? num(rate) : rate.toFixed(rate >= 1 ? 1 : 2)} msg/s)`;
  const notes: string[] = [];
  if (pub.rejected > 0) notes.push(`${num(pub.rejected)} rejected`);
  if (pub.failed > 0) notes.push(`${num(pub.failed)} not acknowledged`);
  if (pub.skipped > 0) notes.push(`${num(pub.skipped)} empty skipped`);
  if (interrupted !== null) notes.push(`interrupted by ${interrupted}`);
  return notes.length > 0 ? `${s}; ${notes.join(', ')}` : s;
}
