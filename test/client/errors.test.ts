// Error frames as the client sees them: classes with nsqd's code, fatal or not from the one table,
// against our nsqd and against a server speaking codes the table does not know.

import t from 'tap';
import { createServer, type Socket } from 'node:net';
import { Connection, NsqError, ProtocolError } from '../../src/client/connection.js';
import { badMessage } from '../../src/protocol/errors.js';
import { encodeError, encodeFrame } from '../../src/protocol/encoders.js';
import { FRAME_TYPE_RESPONSE } from '../../src/protocol/constants.js';
import { startNsqd, type Teardown } from '../helpers/nsqd.js';

t.test('a non-fatal error (FIN of a message not in flight) is a warning; the connection goes on', async (t) => {
  const nsqd = await startNsqd(t);
  const conn = await Connection.open({ host: '127.0.0.1', port: nsqd.tcpEndpoint.port });
  t.teardown(() => conn.close());
  await conn.subscribe('w', 'c');
  const warning = new Promise<ProtocolError>((resolve) => (conn.events.warning = resolve));
  conn.finish('0123456789abcdef');
  const w = await warning;
  t.ok(w instanceof ProtocolError);
  t.equal(w.code, 'E_FIN_FAILED');
  t.equal(w.fatal, false);
  t.match(w.message, /^E_FIN_FAILED FIN 0123456789abcdef failed /);
  await conn.publish('w', 'still open');
  t.equal(conn.isClosed, false, 'the connection is still open and answers');
});

t.test('a fatal error: the command fails with the code, E_BAD_MESSAGE tells the limit', async (t) => {
  const nsqd = await startNsqd(t, { maxMsgSize: 10 });
  const conn = await Connection.open({ host: '127.0.0.1', port: nsqd.tcpEndpoint.port });
  t.teardown(() => conn.close());
  const err = await conn.publish('t', 'much too long a message').catch((e: unknown) => e);
  t.ok(err instanceof ProtocolError && err instanceof NsqError);
  t.equal((err as ProtocolError).fatal, true);
  t.same(badMessage(err), { kind: 'too-big', size: 23, limit: 10 });
  t.ok((await conn.closed) instanceof ProtocolError, 'the close says why');
});

/** A server that answers IDENTIFY with OK and then every command with `answer`, as some other nsqd might. */
async function otherServer(t: Teardown, answer: Buffer): Promise<number> {
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.on('error', () => {});
    let seen = 0;
    s.on('data', (d: Buffer) => {
      // IDENTIFY's line gets OK, every command line after it `answer` (the bodies here hold no newline)
      for (const b of d) if (b === 10) s.write(seen++ === 0 ? encodeFrame(FRAME_TYPE_RESPONSE, 'OK') : answer);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return (server.address() as { port: number }).port;
}

t.test("a code the table does not know is kept as sent, and fatal (nsqd's rule for all but three)", async (t) => {
  const port = await otherServer(t, encodeError('E_QUOTA_EXCEEDED publish quota used up'));
  const conn = await Connection.open({ host: '127.0.0.1', port });
  t.teardown(() => conn.close());
  const warnings: Error[] = [];
  conn.events.warning = (w) => warnings.push(w);
  const err = await conn.publish('t', 'x').catch((e: unknown) => e);
  t.ok(err instanceof ProtocolError);
  t.equal((err as ProtocolError).code, 'E_QUOTA_EXCEEDED');
  t.equal((err as ProtocolError).message, 'E_QUOTA_EXCEEDED publish quota used up');
  t.equal((err as ProtocolError).fatal, true);
  t.same(warnings, [], 'not a warning');
});
