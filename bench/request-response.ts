// Request/response publishing, the way most producers behave (go-nsq's Publish, nsqjs, pynsq, Go's
// bench_writer): each connection sends one command, waits for its OK, sends the next. The client is
// a bare socket loop (no library), the same against every server, so the ratio between servers is
// the servers' difference.

import { connect, type Socket } from 'node:net';

const MAGIC = Buffer.from('  V2');

export interface RrOptions {
  port: number;
  topic: string;
  connections: number;
  /** messages per command: 1 sends PUB, more send MPUB */
  batch: number;
  size: number;
  durationMs: number;
}

export interface RrResult {
  messages: number;
  roundTrips: number;
  seconds: number;
  msgsPerSec: number;
  roundTripsPerSec: number;
}

function command(o: RrOptions): Buffer {
  const body = Buffer.alloc(o.size, 0x61);
  if (o.batch === 1) {
    const head = Buffer.from(`PUB ${o.topic}\n`);
    const size = Buffer.alloc(4);
    size.writeUInt32BE(body.length);
    return Buffer.concat([head, size, body]);
  }
  const parts: Buffer[] = [];
  const count = Buffer.alloc(4);
  count.writeUInt32BE(o.batch);
  parts.push(count);
  for (let i = 0; i < o.batch; i++) {
    const s = Buffer.alloc(4);
    s.writeUInt32BE(body.length);
    parts.push(s, body);
  }
  const payload = Buffer.concat(parts);
  const size = Buffer.alloc(4);
  size.writeUInt32BE(payload.length);
  return Buffer.concat([Buffer.from(`MPUB ${o.topic}\n`), size, payload]);
}

/** One connection's loop until `deadline`; resolves with its round trips. */
function loop(o: RrOptions, cmd: Buffer, deadline: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const s: Socket = connect({ host: '127.0.0.1', port: o.port });
    s.setNoDelay(true);
    let trips = 0;
    let got = 0;
    s.on('connect', () => {
      s.write(MAGIC);
      s.write(cmd);
    });
    s.on('data', (chunk: Buffer) => {
      // each answer is one 10-byte OK frame (a heartbeat would be longer: then the run is broken)
      got += chunk.length;
      while (got >= 10) {
        got -= 10;
        trips++;
        if (Date.now() >= deadline) {
          s.destroy();
          return resolve(trips);
        }
        s.write(cmd);
      }
    });
    s.on('error', reject);
  });
}

export async function requestResponse(o: RrOptions): Promise<RrResult> {
  const cmd = command(o);
  const start = Date.now();
  const trips = await Promise.all(Array.from({ length: o.connections }, () => loop(o, cmd, start + o.durationMs)));
  const seconds = (Date.now() - start) / 1000;
  const roundTrips = trips.reduce((a, b) => a + b, 0);
  return { messages: roundTrips * o.batch, roundTrips, seconds, msgsPerSec: Math.round((roundTrips * o.batch) / seconds), roundTripsPerSec: Math.round(roundTrips / seconds) };
}
