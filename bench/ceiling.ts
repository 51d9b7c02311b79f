// The ceiling for request/response publishing (issue #15): a TCP server that speaks just enough of
// protocol V2 to answer every command with an OK frame, and does nothing else. It is what one Node
// thread can do per round trip at best, so `nsq serve`'s figure is read as a ratio to it, measured
// in the same run on the same machine. Run as its own process: `node dist/bench/ceiling.js`; it
// prints `listening on <port>` and serves until killed.

import { createServer, type Socket } from 'node:net';

/** [size 6][frame type 0: response]["OK"] */
const OK = Buffer.from([0, 0, 0, 6, 0, 0, 0, 0, 0x4f, 0x4b]);
const NL = 0x0a;

function serve(socket: Socket): void {
  socket.setNoDelay(true);
  let pending: Buffer | null = null;
  let magic = 4;
  socket.on('data', (chunk: Buffer) => {
    const buf = pending === null ? chunk : Buffer.concat([pending, chunk]);
    pending = null;
    let pos = 0;
    if (magic > 0) {
      const n = Math.min(magic, buf.length);
      magic -= n;
      pos = n;
    }
    let answers = 0;
    for (;;) {
      const nl = buf.indexOf(NL, pos);
      if (nl < 0) break;
      // PUB, MPUB, DPUB, IDENTIFY and AUTH carry a 4-byte size and a body after the line
      const c = buf[pos];
      const bodied = c === 0x50 /* P */ || c === 0x4d /* M */ || c === 0x44 /* D */ || c === 0x49 /* I */ || c === 0x41; /* A */
      let end = nl + 1;
      if (bodied) {
        if (buf.length < end + 4) break;
        end += 4 + buf.readUInt32BE(end);
        if (buf.length < end) break;
      }
      pos = end;
      answers++;
    }
    if (pos < buf.length) pending = buf.subarray(pos);
    if (answers === 1) socket.write(OK);
    else if (answers > 1) socket.write(Buffer.concat(Array.from({ length: answers }, () => OK)));
  });
  socket.on('error', () => socket.destroy());
}

const server = createServer(serve);
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`listening on ${(server.address() as { port: number }).port}\n`);
});
