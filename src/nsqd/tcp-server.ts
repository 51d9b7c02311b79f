// The TCP listener: one Client and one ProtocolV2 per connection.

import { createServer, type Server, type Socket } from 'node:net';
import { Client } from './client.js';
import { ProtocolV2 } from './protocol-v2.js';
import type { NSQD } from './nsqd.js';

export function createTcpServer(nsqd: NSQD): Server {
  const server = createServer({ noDelay: true, allowHalfOpen: true }, (socket: Socket) => {
    const client = new Client(nsqd, nsqd.nextClientId(), socket);
    const protocol = new ProtocolV2(nsqd, client);
    nsqd.addClient(client);
    protocol.attach(socket);
  });
  // accept failures at the descriptor limit are logged once per burst (guardAccepts)
  server.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EMFILE' && err.code !== 'ENFILE') nsqd.logger.error(`TCP: ${err.message}`);
  });
  return server;
}
