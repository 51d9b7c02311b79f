// HTTPS for the client commands' own HTTP calls (nsq top's polls and actions, nsq pub --http,
// lookupd queries): Node's fetch checks certificates against the system roots only. When --tls-*
// flags are given, one global dispatcher carries their CA, client certificate, minimum version or
// skip-verify to every https:// request of the process.

import { Agent, setGlobalDispatcher } from 'undici';
import type { ClientTls } from '../client/connection.js';

export function useHttpsOptions(tls: ClientTls): void {
  setGlobalDispatcher(
    new Agent({
      connect: {
        ...(tls.ca !== undefined ? { ca: tls.ca } : {}),
        ...(tls.cert !== undefined ? { cert: tls.cert } : {}),
        ...(tls.key !== undefined ? { key: tls.key } : {}),
        ...(tls.minVersion !== undefined ? { minVersion: tls.minVersion } : {}),
        rejectUnauthorized: tls.insecureSkipVerify !== true,
      },
    }),
  );
}

