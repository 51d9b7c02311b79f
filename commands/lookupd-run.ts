// `nsq lookupd`: run the discovery server in the foreground until SIGINT/SIGTERM.

import { NSQLookupd } from '../src/lookupd/lookupd.js';
import type { LookupdOptions } from '../src/lookupd/options.js';
import { untilSignal } from './until-signal.js';

export async function runLookupd(options: Partial<LookupdOptions>): Promise<void> {
  const lookupd = new NSQLookupd(options);
  await lookupd.start();
  await untilSignal(lookupd.logger, () => lookupd.stop());
}
