// Test helper: ports the kernel picked a moment ago (port 0) and closed again, for nodes that must
// keep their address across a restart, name each other before they start, or be nothing at all.

import { createServer, type Server } from 'node:net';

async function listening(): Promise<Server> {
  const s = createServer();
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.listen(0, '127.0.0.1', resolve);
  });
  return s;
}

/** `n` distinct ports that were free a moment ago (all held at once, so they differ). */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(Array.from({ length: n }, listening));
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  return ports;
}

/** A port nothing listens on now. */
export async function freePort(): Promise<number> {
  return (await freePorts(1))[0]!;
}

/** An address nothing listens on: connecting to it is refused. */
export async function deadAddress(): Promise<string> {
  return `127.0.0.1:${await freePort()}`;
}
