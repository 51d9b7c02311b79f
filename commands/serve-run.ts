// `nsq serve`: run the engine in the foreground until SIGINT/SIGTERM; with --with-lookupd, a lookupd
// in the same process too, so one command gives a complete local cluster of one; with --with-admin,
// the admin page over it.

import { NSQD } from '../src/nsqd/nsqd.js';
import type { NsqdOptions } from '../src/nsqd/options.js';
import type { LookupdOptions } from '../src/lookupd/options.js';
import { untilSignal } from './until-signal.js';
import { capYoungGeneration } from '../src/util/young-generation.js';
import { formatHostPort } from '../src/util/host-port.js';
import { NODE_INDEX_ENV, type NodeListening } from './node-index.js';

/** the cap on V8's young generation (src/util/young-generation.ts) */
const YOUNG_GENERATION_MIB = 4;

export interface ServeRun {
  nsqd: Partial<NsqdOptions>;
  /** --with-lookupd: the lookupd to run beside the engine (null: none) */
  withLookupd: Pick<LookupdOptions, 'tcpAddress' | 'httpAddress'> | null;
  /** --with-admin: `nsq admin` on this address over this node (or its --with-lookupd); null: none */
  withAdmin?: string | null;
}

export async function runServe(run: ServeRun): Promise<void> {
  capYoungGeneration(YOUNG_GENERATION_MIB);
  const options = { ...run.nsqd };
  let lookupd: { stop(): Promise<void> } | null = null;
  let lookupdHttp: string | null = null;
  if (run.withLookupd !== null) {
    const { NSQLookupd } = await import('../src/lookupd/lookupd.js');
    const l = new NSQLookupd(run.withLookupd);
    await l.start();
    lookupd = l;
    lookupdHttp = `${l.httpEndpoint.host}:${l.httpEndpoint.port}`;
    options.nsqlookupdTcpAddresses = [...(options.nsqlookupdTcpAddresses ?? []), `${l.tcpEndpoint.host}:${l.tcpEndpoint.port}`];
  }
  const nsqd = new NSQD(options);
  try {
    await nsqd.start();
  } catch (err) {
    await lookupd?.stop();
    throw err;
  }
  let admin: { stop(): Promise<void> } | null = null;
  if (run.withAdmin != null) {
    const [{ AdminServer, DEFAULT_ADMIN_OPTIONS }, { parseHostPort, formatHostPort }] = await Promise.all([import('../src/admin/server.js'), import('../src/util/host-port.js')]);
    const http = nsqd.httpEndpoint;
    const self = formatHostPort({ host: http.host === '' || http.host === '0.0.0.0' || http.host === '::' ? '127.0.0.1' : http.host, port: http.port });
    const a = new AdminServer({
      ...DEFAULT_ADMIN_OPTIONS,
      httpAddress: parseHostPort(run.withAdmin)!,
      ...(lookupdHttp === null ? { nsqdHttpAddresses: [self] } : { lookupdHttpAddresses: [lookupdHttp] }),
    });
    try {
      await a.start();
    } catch (err) {
      await nsqd.stop();
      await lookupd?.stop();
      throw err;
    }
    admin = a;
  }
  if (process.env[NODE_INDEX_ENV] !== undefined && process.send !== undefined) reportToSupervisor(nsqd);
  await untilSignal(nsqd.logger, async () => {
    await nsqd.stop();
    // messages the disk refused at shutdown are gone: not a clean exit
    if (nsqd.lostAtStop > 0) process.exitCode = 1;
    await Promise.all([lookupd?.stop(), admin?.stop()]);
  });
}

/**
 * A node started by `nsq serve --nodes`: tells the supervisor where it listens, and stops as on
 * SIGTERM if the supervisor goes away without a word (killed), so no node outlives it.
 */
function reportToSupervisor(nsqd: NSQD): void {
  const https = nsqd.httpsEndpoint;
  const listening: NodeListening = { tcp: formatHostPort(nsqd.tcpEndpoint), http: formatHostPort(nsqd.httpEndpoint), https: https === null ? null : formatHostPort(https) };
  process.send!({ listening });
  // the channel alone must not keep a stopped node running
  process.channel?.unref();
  process.once('disconnect', () => {
    nsqd.logger.warn('the supervising nsq serve --nodes is gone: stopping');
    process.kill(process.pid, 'SIGTERM');
  });
}
