// A TCP tool pointed at an HTTP port, and an HTTP one at a TCP port, says so in one line and fails,
// against a real `nsq serve`; and the client's recognition of an HTTP answer, however it is split.

import t from 'tap';
import { createServer, type Socket } from 'node:net';
import { Connection } from '../../src/client/connection.js';
import { serverPorts, spawnNsq, type Teardown } from '../helpers/nsqd.js';

async function serve(t: Teardown): Promise<{ tcp: string; http: string }> {
  const s = spawnNsq(t, ['serve', '--tcp-address=127.0.0.1:0', '--http-address=127.0.0.1:0']);
  const p = await serverPorts(s);
  return { tcp: `127.0.0.1:${p.tcp}`, http: `127.0.0.1:${p.http}` };
}

t.test('TCP tools at an HTTP port: one line saying so, exit non-zero', async (t) => {
  const { http } = await serve(t);
  const line = `nsq: ${http} is an HTTP port (answered HTTP/1.1 400); nsqd's TCP port is usually 4150\n`;
  const tail = spawnNsq(t, ['tail', '--topic=t', `--nsqd-tcp-address=${http}`]);
  const pub = spawnNsq(t, ['pub', '--topic=t', `--nsqd-tcp-address=${http}`], { input: 'hello\n' });
  const [te, pe] = await Promise.all([tail.exit, pub.exit]);
  t.not(te.code, 0, 'tail fails');
  t.equal(tail.stderr(), line);
  t.not(pe.code, 0, 'pub fails');
  t.equal(pub.stderr(), line);
});

t.test('HTTP tools at a TCP port: one line saying so, exit non-zero', async (t) => {
  const { tcp } = await serve(t);
  const why = `${tcp} is a TCP port (answered E_BAD_PROTOCOL), not an HTTP port`;
  const pub = spawnNsq(t, ['pub', '--http', '--topic=t', `--nsqd-http-address=${tcp}`], { input: 'hello\n' });
  const ls = spawnNsq(t, ['ls', `--nsqd-http-address=${tcp}`]);
  const [pe, le] = await Promise.all([pub.exit, ls.exit]);
  t.not(pe.code, 0, 'pub --http fails');
  t.equal(pub.stderr(), `nsq: ${why}\n`);
  t.not(le.code, 0, 'ls fails');
  t.equal(ls.stderr(), `nsq: no nsqd answered: ${tcp}: is a TCP port (answered E_BAD_PROTOCOL), not an HTTP port\n`);
});

/** A server that answers with `answer`, one byte per write, then closes. */
async function answering(t: Teardown, answer: string): Promise<number> {
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.on('error', () => {});
    s.once('data', async () => {
      for (const b of Buffer.from(answer, 'latin1')) {
        await new Promise<void>((resolve) => s.write(Buffer.of(b), () => resolve()));
      }
      s.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return (server.address() as { port: number }).port;
}

t.test('an HTTP answer is recognised when it arrives a byte at a time', async (t) => {
  const port = await answering(t, 'HTTP/1.0 400 Bad Request\r\n\r\n');
  await t.rejects(Connection.open({ host: '127.0.0.1', port }), {
    code: 'E_WRONG_PORT',
    message: `127.0.0.1:${port} is an HTTP port (answered HTTP/1.0 400); nsqd's TCP port is usually 4150`,
  });
});

t.test('control: another answer that starts like it is not taken for HTTP', async (t) => {
  // "HTTX" as a frame size is as invalid as "HTTP/": the decoder's own error, not the HTTP one
  const port = await answering(t, 'HTTX/1.0 400 Bad Request\r\n\r\n');
  const err = await Connection.open({ host: '127.0.0.1', port }).catch((e: unknown) => e);
  t.not((err as { code?: string }).code, 'E_WRONG_PORT');
  t.match((err as Error).message, /invalid frame size/);
});
