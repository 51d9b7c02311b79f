// Address parsing and listening, with errors a user can act on.

import type { Server } from 'node:net';
import { UserError } from '../util/errors.js';
import { formatHostPort, parseHostPort, type HostPort } from '../util/host-port.js';
import { guardAccepts, type GuardLogger } from './accept-guard.js';

export { formatHostPort, type HostPort };

/** "host:port", "[::1]:port" or ":port" (all interfaces, as Go accepts it). */
export function splitHostPort(addr: string, what: string): HostPort {
  const a = parseHostPort(addr);
  if (a === null) throw new UserError(`invalid ${what} "${addr}": want host:port`, 'E_BAD_ADDRESS', 1);
  return { host: a.host === '' ? '0.0.0.0' : a.host, port: a.port };
}

export function listen(server: Server, addr: HostPort): Promise<HostPort> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      const where = `${addr.host}:${addr.port}`;
      const why =
        err.code === 'EADDRINUSE' ? 'address already in use' : err.code === 'EACCES' ? 'permission denied' : err.code === 'EADDRNOTAVAIL' ? 'cannot assign requested address' : err.message;
      reject(new UserError(`listen tcp ${where}: ${why}`, err.code ?? 'E_LISTEN', 1));
    };
    server.once('error', onError);
    server.listen(addr.port, addr.host, () => {
      server.off('error', onError);
      const a = server.address();
      if (a === null || typeof a === 'string') return resolve(addr);
      resolve({ host: a.address, port: a.port });
    });
  });
}

/**
 * Binds a TCP and an HTTP listener, in that order, logging each; if the second cannot bind, the
 * first is closed again. Both are guarded at the file-descriptor limit.
 */
export async function listenBoth(tcp: Server, tcpAddr: HostPort, http: Server, httpAddr: HostPort, logger: GuardLogger): Promise<{ tcp: HostPort; http: HostPort }> {
  const log = (line: string): void => logger.info(line);
  guardAccepts(tcp, 'TCP', logger);
  guardAccepts(http, 'HTTP', logger);
  const tcpEndpoint = await listen(tcp, tcpAddr);
  log(`TCP: listening on ${formatHostPort(tcpEndpoint)}`);
  let httpEndpoint: HostPort;
  try {
    httpEndpoint = await listen(http, httpAddr);
  } catch (err) {
    tcp.close();
    throw err;
  }
  log(`HTTP: listening on ${formatHostPort(httpEndpoint)}`);
  return { tcp: tcpEndpoint, http: httpEndpoint };
}
