// The TCP listener: one Client and one ProtocolV2 per connection.

import { createServer, type Server, type Socket } from 'node:net';
import { Client } from './client.js';
import { ProtocolV2 } from './protocol-v2.js';
import type { NSQD } from './nsqd.js';

export function createTcpServer(nsqd: NSQD): Server {
  const server = createServer({ noDelay: true }, (socket: Socket) => {
    const client = new Client(nsqd, nsqd.nextClientId(), socket);
    const protocol = new ProtocolV2(nsqd, client);
    nsqd.addClient(client);
    socket.on('data', (chunk: Buffer) => {
      client.lastRead = performance.now();
      protocol.receive(chunk);
    });
    socket.on('end', () => {
      // the peer is done sending; finish writing what we have, then close
      client.close();
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'ECONNRESET' && err.code !== 'EPIPE') {
        nsqd.logger.error(`[${client.remoteAddress}] - ${err.message}`);
      }
    });
    socket.on('close', () => {
      nsqd.logger.info(`PROTOCOL(V2): [${client.remoteAddress}] exiting ioloop`);
      protocol.connectionClosed();
      nsqd.removeClient(client);
    });
  });
  server.on('error', (err) => nsqd.logger.error(`TCP: ${err.message}`));
  return server;
}
