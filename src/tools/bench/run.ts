// `nsq bench [pub|sub]` as a command: finds the nodes (lookupd), runs the mode, stops early on
// Ctrl-C, and prints the report (human, --json or --csv).

import { useTlsForHttps } from '../../client/http.js';
import { formatDuration } from '../../util/duration.js';
import { UserError } from '../../util/errors.js';
import { benchPub, type PubOptions } from './pub.js';
import { benchCombined, DRAIN_IDLE_MS, type CombinedOptions, type CombinedResult } from './combined.js';
import { formatCombined, formatCsv, formatResult } from './report.js';
import type { BenchResult } from './shared.js';
import { benchSub, type SubOptions } from './sub.js';

export type BenchRun = ({ mode: 'pub' } & PubOptions) | ({ mode: 'sub' } & SubOptions) | ({ mode: 'pubsub' } & CombinedOptions);

export interface BenchReport {
  /** nodes are found through these lookupds when `addresses` is empty */
  lookupdHttpAddresses: string[];
  lookupdPollInterval: number;
  /** one JSON object, or a CSV header and rows, instead of the human report */
  format: 'text' | 'json' | 'csv';
}

/**
 * `nsq bench [pub|sub]`: runs, then prints the report. Ctrl-C stops early and reports. The combined
 * run exits 1 (after its report) when published messages never arrived.
 */
export async function runBench(run: BenchRun, report: BenchReport): Promise<void> {
  const { mode, ...opts } = run;
  if (opts.transport !== undefined) await useTlsForHttps(opts.transport);
  const client = report;
  const lookupds = client.lookupdHttpAddresses;
  const ac = new AbortController();
  const onSignal = (): void => ac.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  if (opts.addresses.length === 0 && lookupds.length > 0) {
    // through lookupd: publish to every node it knows; consume from every node with the topic,
    // waiting (as every consumer does) until one has it
    const { Discovery, lookupAllNodes } = await import('../../client/discovery.js');
    // the combined run subscribes on every node it publishes to
    if (mode === 'pub' || mode === 'pubsub') {
      try {
        opts.addresses = await lookupAllNodes(lookupds);
      } catch (err) {
        throw new UserError((err as Error).message, 'E_LOOKUPD', 1);
      }
      if (opts.addresses.length === 0) throw new UserError(`no nsqd registered with lookupd ${lookupds.join(', ')}`, 'E_NO_NODES', 1);
    } else {
      const d = new Discovery(lookupds, opts.topic, client.lookupdPollInterval);
      const found = new Promise<void>((resolve) => {
        d.events.added = () => resolve();
        ac.signal.addEventListener('abort', () => resolve());
      });
      d.events.waiting = (why) => process.stderr.write(`nsq bench: waiting: ${why}; asking lookupd again every ${formatDuration(client.lookupdPollInterval)}\n`);
      await d.start();
      await found;
      d.stop();
      opts.addresses = d.nodes;
      if (opts.addresses.length === 0) {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        // nothing was measured: not a success
        throw new UserError(`stopped before any nsqd had topic ${opts.topic}`, 'E_NO_NODES', 1);
      }
    }
  }
  let result: BenchResult | CombinedResult;
  try {
    if (mode === 'pub') result = await benchPub({ ...(opts as PubOptions), signal: ac.signal });
    else if (mode === 'sub') result = await benchSub({ ...(opts as SubOptions), signal: ac.signal });
    else result = await benchCombined({ ...(opts as CombinedOptions), signal: ac.signal });
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw new UserError((err as Error).message, (err as { code?: string }).code ?? 'E_BENCH', 1);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  const text = report.format === 'json' ? `${JSON.stringify(result)}\n` : report.format === 'csv' ? formatCsv(result) : result.mode === 'pubsub' ? formatCombined(result) : formatResult(result);
  process.stdout.write(text);
  if (result.mode === 'pubsub' && result.missing > 0) {
    throw new UserError(`${result.missing} of ${result.published} published messages did not arrive (none came for ${DRAIN_IDLE_MS / 1000} s)`, 'E_MISSING', 1);
  }
}
