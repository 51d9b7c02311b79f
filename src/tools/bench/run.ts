// `nsq bench [pub|sub]` as a command: finds the nodes (lookupd), runs the mode, stops early on
// Ctrl-C, and prints the report (human, or --json).

import { useTlsForHttps } from '../../client/http.js';
import { formatDuration } from '../../util/duration.js';
import { UserError } from '../../util/errors.js';
import { benchPub, type PubOptions } from './pub.js';
import { formatResult } from './report.js';
import type { BenchResult } from './shared.js';
import { benchSub, type SubOptions } from './sub.js';

export type BenchRun = ({ mode: 'pub' } & PubOptions) | ({ mode: 'sub' } & SubOptions);

export interface BenchReport {
  /** nodes are found through these lookupds when `addresses` is empty */
  lookupdHttpAddresses: string[];
  lookupdPollInterval: number;
  /** one JSON object instead of the human report */
  json: boolean;
}

/** `nsq bench pub|sub`: runs, then prints the report (or one JSON object with --json). Ctrl-C stops early and reports. */
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
    if (mode === 'pub') {
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
  let result: BenchResult;
  try {
    result = mode === 'pub' ? await benchPub({ ...(opts as PubOptions), signal: ac.signal }) : await benchSub({ ...(opts as SubOptions), signal: ac.signal });
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw new UserError((err as Error).message, (err as { code?: string }).code ?? 'E_BENCH', 1);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  process.stdout.write(report.json ? `${JSON.stringify(result)}\n` : formatResult(result));
}
