// `nsq serve`: run the engine in the foreground until SIGINT/SIGTERM; with --with-lookupd, a lookupd
// in the same process too, so one command gives a complete local cluster of one.

import { NSQD } from '../src/nsqd/nsqd.js';
import type { NsqdOptions } from '../src/nsqd/options.js';
import type { LookupdOptions } from '../src/lookupd/options.js';

export interface ServeRun {
  nsqd: Partial<NsqdOptions>;
  /** --with-lookupd: the lookupd to run beside the engine (null: none) */
  withLookupd: Pick<LookupdOptions, 'tcpAddress' | 'httpAddress'> | null;
}

export async function runServe(run: ServeRun): Promise<void> {
  const options = { ...run.nsqd };
  let lookupd: { stop(): Promise<void> } | null = null;
  if (run.withLookupd !== null) {
    const { NSQLookupd } = await import('../src/lookupd/lookupd.js');
    const l = new NSQLookupd(run.withLookupd);
    await l.start();
    lookupd = l;
    options.nsqlookupdTcpAddresses = [...(options.nsqlookupdTcpAddresses ?? []), `${l.tcpEndpoint.host}:${l.tcpEndpoint.port}`];
  }
  const nsqd = new NSQD(options);
  try {
    await nsqd.start();
  } catch (err) {
    await lookupd?.stop();
    throw err;
  }
  await new Promise<void>((resolve) => {
    const onSignal = (sig: NodeJS.Signals): void => {
      nsqd.logger.info(`received ${sig}, shutting down`);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      nsqd
        .stop()
        .then(() => {
          // messages the disk refused at shutdown are gone: not a clean exit
          if (nsqd.lostAtStop > 0) process.exitCode = 1;
          return lookupd?.stop();
        })
        .then(resolve, resolve);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}
