// Replication links to replicas that protect their TCP port (docs/replication.md, "TLS and AUTH on
// a link"), across real processes: TLS required (the origin verifies the replica with its
// --tls-root-ca-file and, under require-verify, presents its --tls-cert), TLS offered but not
// required, and AUTH with --replication-auth-secret. A refused link leaves the origin degraded and
// says so in /stats and one log line; it goes in sync by itself once the replica lets it in.

import { rmSync } from 'node:fs';
import t, { type Test } from 'tap';
import { Connection } from '../../src/client/connection.js';
import { startAuthd, type AuthAnswer } from '../helpers/authd.js';
import { tempDir } from '../helpers/nsqd.js';
import { api, consume, inSync, kill9, publishMix, serve, stats, type Node } from '../helpers/replication.js';
import { waitFor } from '../helpers/stats.js';
import { makeCerts } from '../helpers/tls.js';

const certs = makeCerts(t);
const CA = certs.read(certs.caCert);
/** a node's own certificate: signed by the test CA, for 127.0.0.1 */
const NODE_CERT = [`--tls-cert=${certs.serverCert}`, `--tls-key=${certs.serverKey}`];
const ROOT_CA = `--tls-root-ca-file=${certs.caCert}`;

const GRANT_ALL: AuthAnswer = { ttl: 3600, identity: 'replication', authorizations: [{ topic: '.*', channels: ['.*'], permissions: ['publish', 'subscribe'] }] };
const PUBLISH_ONLY: AuthAnswer = { ttl: 3600, identity: 'writer', authorizations: [{ topic: '.*', channels: ['.*'], permissions: ['publish'] }] };

/** A node that copies its durable topics to `replica` (R=2), named `name`. */
function origin(t: Test, replica: Node, name: string, args: string[]): Promise<Node> {
  return serve(t, tempDir(t), [`--replica-name=${name}`, `--replica-address=127.0.0.1:${replica.tcp}`, '--replication-factor=2', ...args]);
}

const synced = (n: Node, ms = 10_000): Promise<true> => waitFor('the origin in sync', async () => (await inSync(n)) || undefined, ms, 50);

/** Waits until the origin's one link shows as refused in /stats; returns its error. */
function refused(n: Node): Promise<string> {
  return waitFor(
    'the link refused',
    async () => {
      const l = (await stats(n)).replication!.links[0]!;
      return l.state === 'refused' && l.error;
    },
    10_000,
    50,
  );
}

/** An origin whose link is refused is degraded: durable publishes refused, /ping NOK. */
async function degraded(t: Test, a: Node): Promise<void> {
  const conn = await Connection.open({ host: '127.0.0.1', port: a.tcp });
  t.teardown(() => conn.close());
  await t.rejects(conn.publish('orders', 'refused'), { code: 'E_PUB_FAILED' }, 'a durable PUB is refused');
  const ping = await api(a, 'GET', '/ping');
  t.equal(ping.status, 500, '/ping is NOK');
  t.match(ping.text, /NOK - replication: 0 of 1 replica\(s\) in sync/);
}

/**
 * The replication connections a replica took (links, and the FETCH call a node with a new data path
 * makes first), by whether that connection had been upgraded to TLS first.
 */
function linksSeen(b: Node): { tls: number; plain: number } {
  const log = b.proc.stderr();
  const upgraded = new Set([...log.matchAll(/\[([^\]]+)\] upgrading connection to TLS/g)].map((m) => m[1]));
  const links = [...log.matchAll(/\[([^\]]+)\] replication link/g)].map((m) => m[1]);
  return { tls: links.filter((a) => upgraded.has(a)).length, plain: links.filter((a) => !upgraded.has(a)).length };
}

/**
 * How many replication links from `origin` the replica opened (one HELLO each). Not every REPL
 * connection is a link: a starting origin's short restore and CLAIM calls are REPL connections too,
 * made on their own retry schedule, so counting those raced with them.
 */
const linkCount = (b: Node, origin: string): number => [...b.proc.stderr().matchAll(new RegExp(`REPLICATION: replicating ${origin} \\(`, 'g'))].length;

/** Bytes the replica holds of `origin`'s durable files. */
async function mirrored(b: Node, origin: string): Promise<number> {
  return (await stats(b)).replication?.mirrors.find((m) => m.origin === origin)?.bytes ?? 0;
}

t.test("TLS required on the replica: the link is TLS, verified with the origin's --tls-root-ca-file; the replica delivers once the origin is lost", async (t) => {
  const b = await serve(t, tempDir(t), ['--replica-name=B', ...NODE_CERT, '--tls-required=true'], 0, { ca: CA });
  // controls: the replica's TCP port takes nothing plain, neither a client's commands nor a link
  const client = await Connection.open({ host: '127.0.0.1', port: b.tcp });
  t.teardown(() => client.close());
  await t.rejects(client.publish('orders', 'x'), { code: 'E_INVALID', message: /TLS required/ }, 'a plain PUB to the replica is refused');
  const [plain, a] = await Promise.all([origin(t, b, 'P', []), origin(t, b, 'A', [ROOT_CA])]);
  t.match(await refused(plain), /E_INVALID cannot REPL in current state \(TLS required\)/, 'an origin without TLS settings is refused');
  await degraded(t, plain);

  await synced(a);
  const seen = linksSeen(b);
  t.ok(seen.tls >= 1 && seen.plain === 0, `the replica took the link over TLS (${JSON.stringify(seen)})`);
  t.equal((await api(a, 'POST', '/topic/create?topic=orders')).status, 200);
  t.equal((await api(a, 'POST', '/channel/create?topic=orders&channel=billing')).status, 200);
  const sent = await publishMix(t, a, 'orders', 'm', 100, 1500);
  await kill9(a);
  rmSync(a.dir, { recursive: true, force: true });
  await waitFor('B takes over', async () => ((await stats(b)).replication?.taken_over_messages ?? 0) > 0, 10_000, 50);
  const got = await consume(t, b, 'orders', 'billing', sent.length, 8000, { tls: { ca: CA } });
  t.same(
    sent.filter((m) => !got.includes(m)),
    [],
    `every acknowledged message came from the replica (${new Set(got).size} of ${sent.length}), the deferred one included`,
  );
});

t.test('client certificates: under require-verify the origin presents its --tls-cert; none, or one the CA did not sign, is refused; under require any will do', async (t) => {
  const b = await serve(t, tempDir(t), ['--replica-name=B', ...NODE_CERT, '--tls-client-auth-policy=require-verify', ROOT_CA], 0, {
    ca: CA,
    cert: certs.read(certs.clientCert),
    key: certs.read(certs.clientKey),
  });
  const OTHER_CERT = [`--tls-cert=${certs.otherCert}`, `--tls-key=${certs.otherKey}`];
  const [none, stranger, a] = await Promise.all([origin(t, b, 'N', [ROOT_CA]), origin(t, b, 'S', [ROOT_CA, ...OTHER_CERT]), origin(t, b, 'A', [ROOT_CA, ...NODE_CERT])]);
  t.match(await refused(none), /closed the connection after the TLS handshake.*it refused this client's certificate, or wants one/, 'no client certificate: refused');
  await degraded(t, none);
  t.match(await refused(stranger), /closed the connection after the TLS handshake/, 'a self-signed client certificate: refused');

  await synced(a);
  const sent = await publishMix(t, a, 'orders', 'v', 20, 100);
  t.equal(sent.length, 20, 'publishes answered OK: the replica confirmed them');
  t.ok((await mirrored(b, 'A')) > 0, "the replica holds the origin's files");

  const any = await serve(t, tempDir(t), ['--replica-name=R', ...NODE_CERT, '--tls-client-auth-policy=require']);
  const s2 = await origin(t, any, 'S2', [ROOT_CA, ...OTHER_CERT]);
  await synced(s2);
  t.pass('require: a self-signed client certificate is let in');
});

t.test('TLS offered, not required: an origin with a root CA uses it, one without TLS settings replicates plain; an origin with TLS settings refuses a replica without TLS', async (t) => {
  // snappy and deflate are on (the defaults, named here): the origin does not ask for them, the link is not compressed
  const [b, c] = await Promise.all([serve(t, tempDir(t), ['--replica-name=B', ...NODE_CERT, '--snappy=true', '--deflate=true']), serve(t, tempDir(t), ['--replica-name=C'])]);
  const [a, a2] = await Promise.all([origin(t, b, 'A', [ROOT_CA]), origin(t, c, 'A2', [ROOT_CA])]);
  await synced(a);
  const before = linksSeen(b);
  t.ok(before.tls >= 1 && before.plain === 0, `the origin with --tls-root-ca-file asked for TLS (${JSON.stringify(before)})`);
  const p = await origin(t, b, 'P', []);
  await synced(p);
  const after = linksSeen(b);
  t.ok(after.plain >= 1, `the origin without TLS settings replicates plain (${JSON.stringify(after)})`);
  t.equal((await publishMix(t, a, 'orders', 'a', 10, 100)).length, 10);
  t.equal((await publishMix(t, p, 'orders', 'p', 10, 100)).length, 10);
  t.ok((await mirrored(b, 'A')) > 0 && (await mirrored(b, 'P')) > 0, 'the replica holds both');

  t.match(await refused(a2), /does not offer TLS/, 'no silent fall back to a plain link');
  await degraded(t, a2);
});

t.test('AUTH on the replica: the origin sends --replication-auth-secret over the TLS link; no secret, or a grant short of publish+subscribe on .*/.*, is refused', async (t) => {
  const authd = await startAuthd(t, { repl: GRANT_ALL, writer: PUBLISH_ONLY });
  const b = await serve(t, tempDir(t), ['--replica-name=B', `--auth-http-address=${authd.address}`, ...NODE_CERT, '--tls-required=tcp-https']);
  const [a, none, writer] = await Promise.all([origin(t, b, 'A', [ROOT_CA, '--replication-auth-secret=repl']), origin(t, b, 'N', [ROOT_CA]), origin(t, b, 'W', [ROOT_CA, '--replication-auth-secret=writer'])]);
  await synced(a);
  const hit = authd.hits.find((h) => h.query.get('secret') === 'repl');
  t.equal(hit?.query.get('tls'), 'true', 'the replica asked the auth server about a TLS connection');
  t.equal((await publishMix(t, a, 'orders', 'a', 20, 100)).length, 20, 'publishes answered OK');
  t.ok((await mirrored(b, 'A')) > 0, "the replica holds the origin's files");

  t.match(await refused(none), /requires authorization \(AUTH\) and no auth secret was given/, 'no --replication-auth-secret: refused');
  t.match(await refused(writer), /E_UNAUTHORIZED AUTH failed for REPL: needs publish and subscribe on topic \.\* channel \.\*/, 'publish only: refused');
  await degraded(t, writer);
});

t.test('a secret the auth server refuses: one log line, /stats says refused, publishes refused; once granted, in sync without a restart; renewed at each expiry; withdrawn, refused again', async (t) => {
  const authd = await startAuthd(t, {});
  const b = await serve(t, tempDir(t), ['--replica-name=B', `--auth-http-address=${authd.address}`]);
  const a = await origin(t, b, 'A', ['--replication-auth-secret=later']);
  t.match(await refused(a), /^E_AUTH_FAILED AUTH failed$/, 'the link error in /stats');
  await degraded(t, a);
  const tries = (): number => authd.hits.filter((h) => h.query.get('secret') === 'later').length;
  await waitFor('three tries', () => tries() >= 3, 10_000, 50);
  const lines = a.proc.stderr().split('\n').filter((l) => l.includes('refused the link'));
  t.equal(lines.length, 1, `${tries()} tries, logged once: ${lines[0] ?? ''}`);
  t.match(lines[0], /REPLICATION: replica 127\.0\.0\.1:\d+ refused the link: E_AUTH_FAILED AUTH failed \(retrying\)/);

  // granted for one second at a time: the replica asks again as each grant expires
  authd.secrets.set('later', { ...GRANT_ALL, ttl: 1 });
  await synced(a, 15_000);
  t.equal((await api(a, 'GET', '/ping')).text, 'OK', '/ping OK again');
  t.equal((await publishMix(t, a, 'orders', 'g', 10, 100)).length, 10, 'publishes answered OK');
  t.equal(a.proc.child.exitCode, null, 'the same process all along');

  const asked = tries();
  const links = linkCount(b, 'A');
  t.ok(links >= 1, `the link's HELLO is seen in the replica's log (${links})`);
  await waitFor('two renewals', () => tries() >= asked + 2, 5000, 50);
  t.ok(await inSync(a), 'renewed grants keep the link in sync');
  // on a failure, say why the link was made again (B's replication lines since the grant)
  t.equal(linkCount(b, 'A'), links, `on the same link: no reconnect${linkCount(b, 'A') === links ? '' : `\n${b.proc.stderr().split('\n').filter((l) => /REPLICATION|replication link|AUTH/.test(l)).slice(-8).join('\n')}`}`);

  authd.secrets.delete('later');
  t.match(await refused(a), /^E_AUTH_FAILED AUTH failed$/, 'a withdrawn grant: the link is closed at its expiry, and the next dial refused');
  t.match(b.proc.stderr(), /REPLICATION: origin A: AUTH failed .*; link closed/);
  await degraded(t, a);
});
