// Our client's TLS, snappy and deflate against our nsqd: certificate checks both ways, client
// certificate policies, and the CLI commands (`nsq serve`, `nsq pub`, `nsq tail`) with the flags.

import t, { type Test } from 'tap';
import { Connection, type ConnectionConfig, type Message } from '../../src/client/connection.js';
import type { NSQD } from '../../src/nsqd/nsqd.js';
import { symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, serverPorts, spawnNsq, startNsqd, tempDir } from '../helpers/nsqd.js';
import { getStats, waitFor } from '../helpers/stats.js';
import { makeCerts } from '../helpers/tls.js';

const certs = makeCerts(t);
const NO_STACK = /\bat .*\.js:\d+/;

function tlsNsqd(t: Test, extra: Parameters<typeof startNsqd>[1] = {}): Promise<NSQD> {
  return startNsqd(t, { tlsCert: certs.serverCert, tlsKey: certs.serverKey, httpsAddress: '', ...extra });
}

async function open(t: Test, nsqd: NSQD, cfg: Partial<ConnectionConfig>): Promise<Connection> {
  const c = await Connection.open({ host: '127.0.0.1', port: nsqd.tcpEndpoint.port, connectTimeout: 3000, ...cfg });
  t.teardown(() => c.close());
  return c;
}

/** Publishes over one connection, consumes over another (both with `cfg`), checks every body. */
async function roundTrip(t: Test, nsqd: NSQD, cfg: Partial<ConnectionConfig>, topic: string): Promise<void> {
  const big = Buffer.alloc(1024 * 1024);
  for (let i = 0; i < big.length; i++) big[i] = (i * 31) % 253;
  const small = Array.from({ length: 500 }, (_, i) => Buffer.from(`message ${i}`));
  const pub = await open(t, nsqd, cfg);
  await pub.publish(topic, big);
  await pub.mpublish(topic, small);
  await Promise.all(small.slice(0, 50).map((b) => pub.publish(topic, b)));
  const sub = await open(t, nsqd, cfg);
  const got: Buffer[] = [];
  const want = 1 + small.length + 50;
  const all = new Promise<void>((resolve) => {
    sub.events.message = (m: Message) => {
      got.push(m.body);
      m.finish();
      if (got.length === want) resolve();
    };
  });
  await sub.subscribe(topic, 'ch');
  sub.ready(1000);
  await all;
  t.ok(got[0]!.equals(big), '1 MiB message intact');
  t.same(
    got.slice(1).map(String),
    [...small, ...small.slice(0, 50)].map(String),
    'small messages intact and in order',
  );
}

t.test('our client: TLS, snappy, deflate, and TLS under each compression', async (t) => {
  const nsqd = await tlsNsqd(t);
  const insecure = { insecureSkipVerify: true };
  const cases: [string, Partial<ConnectionConfig>][] = [
    ['tls', { tls: insecure }],
    ['snappy', { snappy: true }],
    ['deflate', { deflate: true, deflateLevel: 3 }],
    ['tls_snappy', { tls: insecure, snappy: true }],
    ['tls_deflate', { tls: insecure, deflate: true }],
  ];
  for (const [name, cfg] of cases) {
    await t.test(name, async (t) => {
      await roundTrip(t, nsqd, cfg, `client_${name}`);
      const c = await open(t, nsqd, cfg);
      t.equal(c.identify?.tls_v1, cfg.tls !== undefined);
      t.equal(c.identify?.snappy, cfg.snappy === true);
      t.equal(c.identify?.deflate, cfg.deflate === true);
    });
  }
  const last = await open(t, nsqd, { tls: insecure, snappy: true });
  await last.publish('stats_topic', 'x');
  // the cases' connections closed in their teardowns: the server may still be hearing about it
  const producers = await waitFor('only the open connection among the producers', async () => {
    const s = await getStats(nsqd, '&include_clients=true');
    return s.producers?.length === 1 ? s.producers : undefined;
  });
  t.match(producers, [{ tls: true, snappy: true, deflate: false, tls_version: /^TLS1\.[23]$/ }], 'the open TLS + snappy connection in /stats');
});

t.test('server certificate checks', async (t) => {
  const nsqd = await tlsNsqd(t);
  const ok = await open(t, nsqd, { tls: { ca: certs.read(certs.caCert) } });
  await ok.publish('verified', 'x');
  t.pass('signed by the given CA, for 127.0.0.1: accepted');
  await t.rejects(open(t, nsqd, { tls: {} }), { code: 'E_TLS', message: /TLS handshake with 127\.0\.0\.1:\d+ failed: .*(verify|self[- ]signed|local issuer)/ }, 'unknown CA: refused');
  const plain = await startNsqd(t);
  await t.rejects(open(t, plain, { tls: { insecureSkipVerify: true } }), { code: 'E_TLS', message: /does not offer TLS/ }, 'a server without a certificate');
});

t.test('--tls-client-auth-policy require and require-verify', async (t) => {
  const insecure = { insecureSkipVerify: true };
  const withCert = (cert: string, key: string) => ({ ...insecure, cert: certs.read(cert), key: certs.read(key) });

  const req = await tlsNsqd(t, { tlsClientAuthPolicy: 'require' });
  t.equal(req.options.tlsRequired, 2, 'a policy implies --tls-required');
  // TLS 1.3: the handshake ends on the client before the server looks at the certificate; the
  // server then closes the connection without the OK, which the client reports as the refusal it is
  const refusedCert = { code: 'E_TLS', message: /^127\.0\.0\.1:\d+ closed the connection after the TLS handshake.*: it refused this client's certificate, or wants one$/ };
  await t.rejects(open(t, req, { tls: insecure }), refusedCert, 'no certificate: refused');
  const c1 = await open(t, req, { tls: withCert(certs.otherCert, certs.otherKey) });
  await c1.publish('policy', 'x');
  t.pass('any certificate will do');

  const verify = await tlsNsqd(t, { tlsClientAuthPolicy: 'require-verify', tlsRootCaFile: certs.caCert });
  const c2 = await open(t, verify, { tls: withCert(certs.clientCert, certs.clientKey) });
  await c2.publish('policy', 'y');
  t.pass('a certificate signed by --tls-root-ca-file: accepted');
  const client = [...verify.clients.values()][0]!;
  t.equal(client.tlsCommonName, 'nsq-test-client', 'the client certificate name is there for auth');
  await t.rejects(open(t, verify, { tls: withCert(certs.otherCert, certs.otherKey) }), refusedCert, 'self-signed certificate: refused');
  await t.rejects(open(t, verify, { tls: insecure }), refusedCert, 'no certificate: refused');
  // the server keeps serving
  await c2.publish('policy', 'z');
});

t.test('CLI: nsq serve with TLS flags, nsq pub and nsq tail over TLS with compression', async (t) => {
  const server = spawnNsq(t, [
    'serve',
    '--tcp-address=127.0.0.1:0',
    '--http-address=127.0.0.1:0',
    '--https-address=127.0.0.1:0',
    `--tls-cert=${certs.serverCert}`,
    `--tls-key=${certs.serverKey}`,
    '--tls-required',
  ]);
  const ports = await serverPorts(server);
  await t.resolveMatch(
    (async () => {
      while (!/HTTPS: listening on 127\.0\.0\.1:\d+/.test(server.stderr())) await new Promise((r) => setTimeout(r, 20));
      return server.stderr();
    })(),
    /HTTPS: listening/,
  );
  const addr = `--nsqd-tcp-address=127.0.0.1:${ports.tcp}`;
  const pub = spawnNsq(t, ['pub', 'cli_tls', 'hello over tls', addr, '--tls', '--tls-insecure-skip-verify', '--snappy', '-q']);
  t.equal((await pub.exit).code, 0, `pub: ${pub.stderr()}`);
  const tail = spawnNsq(t, ['tail', 'cli_tls', addr, `--tls-root-ca-file=${certs.caCert}`, '--deflate', '-n', '1']);
  t.equal((await tail.exit).code, 0, `tail: ${tail.stderr()}`);
  t.equal(tail.stdout(), 'hello over tls\n');
  // Go's single-dash spelling, and no TLS against a server that requires it
  const plain = spawnNsq(t, ['pub', 'cli_tls', 'x', addr, '-q']);
  t.not((await plain.exit).code, 0);
  t.match(plain.stderr(), /TLS required/);
  const alias = join(tempDir(t), 'to_nsq');
  symlinkSync(BIN, alias);
  const go = spawnNsq(t, ['-topic=cli_go', `-nsqd-tcp-address=127.0.0.1:${ports.tcp}`, '-tls', '-tls-insecure-skip-verify', '-producer-opt=deflate,true'], { input: 'go style\n', argv0: alias });
  t.equal((await go.exit).code, 0, `to_nsq: ${go.stderr()}`);
  // nsq_tail with go-nsq option names
  const tailAlias = join(tempDir(t), 'nsq_tail');
  symlinkSync(BIN, tailAlias);
  const goTail = spawnNsq(t, ['-topic=cli_go', `-nsqd-tcp-address=127.0.0.1:${ports.tcp}`, '-consumer-opt=tls_v1,true', '-consumer-opt=tls_insecure_skip_verify', '-consumer-opt=snappy,true', '-n', '1'], { argv0: tailAlias });
  t.equal((await goTail.exit).code, 0, `nsq_tail: ${goTail.stderr()}`);
  t.equal(goTail.stdout(), 'go style\n');
});

t.test('CLI: bad TLS flags are one-line errors', async (t) => {
  const cases: [string[], number, RegExp][] = [
    [['serve', '--tcp-address=127.0.0.1:0', '--http-address=127.0.0.1:0', '--tls-min-version=tls9'], 2, /invalid value "tls9" for flag --tls-min-version/],
    [['serve', '--tcp-address=127.0.0.1:0', '--http-address=127.0.0.1:0', '--tls-cert=/nonexistent/cert.pem', '--tls-key=/nonexistent/key.pem'], 1, /failed to build TLS config - open \/nonexistent\/cert\.pem: no such file or directory/],
    [['serve', '--tcp-address=127.0.0.1:0', '--http-address=127.0.0.1:0', '--tls-required'], 1, /cannot require TLS client connections without TLS key and cert/],
    [['serve', '--tcp-address=127.0.0.1:0', '--http-address=127.0.0.1:0', '--tls-client-auth-policy=maybe'], 2, /--tls-client-auth-policy/],
    [['serve', '--tcp-address=127.0.0.1:0', '--http-address=127.0.0.1:0', `--tls-cert=${certs.caCert}`, `--tls-key=${certs.serverKey}`], 1, /failed to build TLS config/],
    [['pub', 'x', 'y', '--tls-cert=/nonexistent.pem', '--tls-key=/nonexistent.pem'], 2, /cannot read --tls-cert \/nonexistent\.pem: no such file or directory/],
    [['tail', 'x', '--tls-min-version=tls2'], 2, /invalid value "tls2" for flag --tls-min-version/],
    [['pub', 'x', 'y', '--snappy', '--deflate'], 2, /either --snappy or --deflate/],
    [['bench', 'pub', '--deflate-level=12'], 2, /--deflate-level/],
    [['tail', 'x', '--consumer-opt=no_such_option,5'], 2, /--consumer-opt: supported options are tls_v1/],
  ];
  for (const [args, code, message] of cases) {
    const p = spawnNsq(t, args);
    const { code: got } = await p.exit;
    t.equal(got, code, `exit ${code} for ${args.join(' ')}`);
    const lines = p.stderr().trim().split('\n');
    t.equal(lines.length, 1, `one line: ${p.stderr()}`);
    t.match(p.stderr(), message);
    t.notMatch(p.stderr(), NO_STACK);
  }
});
