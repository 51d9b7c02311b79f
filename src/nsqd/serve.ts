// `nsq serve`: run the engine in the foreground until SIGINT/SIGTERM; with --with-lookupd, a lookupd
// in the same process too, so one command gives a complete local cluster of one.

import { withConfigFile } from '../util/flag-values.js';
import { nsqdConfigFlag, optionsFromFlags } from './flags.js';
import { NSQD } from './nsqd.js';
import type { NsqdOptions } from './options.js';

/** The engine's options from the command line and its --config file; a bad value is a UserError. */
export async function serveOptions(cli: Record<string, unknown>): Promise<{ flags: Record<string, unknown>; options: Partial<NsqdOptions> }> {
  const flags = await withConfigFile(cli, nsqdConfigFlag);
  return { flags, options: optionsFromFlags(flags) };
}

export async function runServe(cli: Record<string, unknown>): Promise<void> {
  const { flags, options } = await serveOptions(cli);
  let lookupd: { stop(): Promise<void> } | null = null;
  if (flags['with-lookupd'] === true) {
    const [{ NSQLookupd }] = await Promise.all([import('../lookupd/lookupd.js')]);
    const l = new NSQLookupd({ tcpAddress: String(flags['with-lookupd-tcp-address'] ?? '127.0.0.1:4160'), httpAddress: String(flags['with-lookupd-http-address'] ?? '127.0.0.1:4161') });
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
