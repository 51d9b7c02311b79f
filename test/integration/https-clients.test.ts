// The client commands' HTTP side over TLS: `nsq top` and `nsq pub --http` against nsqd's HTTPS API
// (https:// addresses), with the certificate checked against --tls-root-ca-file, skipped with
// --tls-insecure-skip-verify, refused without either; and a TLS-required node seen over plain HTTP.

import t from 'tap';
import { startNsqd, spawnNsq } from '../helpers/nsqd.js';
import { TLS_REQUIRED } from '../../src/nsqd/options.js';
import { makeCerts } from '../helpers/tls.js';
import { waitFor, channelStats } from '../helpers/stats.js';

const certs = makeCerts(t);

t.test('nsq top over HTTPS: CA-checked, skip-verify, and refused with neither', async (t) => {
  const nsqd = await startNsqd(t, { tlsCert: certs.serverCert, tlsKey: certs.serverKey, httpsAddress: '127.0.0.1:0', tlsRequired: TLS_REQUIRED });
  nsqd.getTopic('orders').getChannel('billing');
  const body = Buffer.from('x');
  for (let i = 0; i < 3; i++) nsqd.getTopic('orders').publish(body, 0, 1);
  const https = `https://127.0.0.1:${nsqd.httpsEndpoint!.port}`;

  const checked = spawnNsq(t, ['top', '--once', `--nsqd-http-address=${https}`, `--tls-root-ca-file=${certs.caCert}`]);
  t.equal((await checked.exit).code, 0, checked.stderr());
  t.match(checked.stdout(), /^nodes: 1 up, 0 down/);
  t.match(checked.stdout(), /│\s+billing\s+│\s+3 │/, 'the channel and its depth, read over HTTPS');

  const skipped = spawnNsq(t, ['top', '--once', `--nsqd-http-address=${https}`, '--tls-insecure-skip-verify']);
  t.equal((await skipped.exit).code, 0);
  t.match(skipped.stdout(), /^nodes: 1 up, 0 down/);

  const refused = spawnNsq(t, ['top', '--once', `--nsqd-http-address=${https}`]);
  t.not((await refused.exit).code, 0, 'an unknown CA: no node answered');
  t.match(refused.stderr(), /^nsq: no nsqd answered: https:\/\/127\.0\.0\.1:\d+: UNABLE_TO_VERIFY_LEAF_SIGNATURE\n$/, 'one line saying why');

  // the same node over plain HTTP: nsqd answers 403 TLS_REQUIRED
  const plain = spawnNsq(t, ['top', '--once', `--nsqd-http-address=127.0.0.1:${nsqd.httpEndpoint.port}`]);
  t.not((await plain.exit).code, 0);
  t.match(plain.stderr(), /no nsqd answered: .*HTTP 403/);
});

t.test('nsq pub --http to an https:// address with --tls-root-ca-file', async (t) => {
  const nsqd = await startNsqd(t, { tlsCert: certs.serverCert, tlsKey: certs.serverKey, httpsAddress: '127.0.0.1:0' });
  nsqd.getTopic('events').getChannel('c');
  const https = `https://127.0.0.1:${nsqd.httpsEndpoint!.port}`;
  const p = spawnNsq(t, ['pub', 'events', '--http', `--nsqd-http-address=${https}`, `--tls-root-ca-file=${certs.caCert}`], { input: 'a\nb\nc\n' });
  t.equal((await p.exit).code, 0, p.stderr());
  await waitFor('3 messages in the channel', async () => (await channelStats(nsqd, 'events', 'c'))?.depth === 3);
  t.pass('all three arrived over HTTPS');

  const bad = spawnNsq(t, ['pub', 'events', '--http', `--nsqd-http-address=${https}`], { input: 'd\n' });
  t.not((await bad.exit).code, 0, 'without the CA the publish fails');
  t.match(bad.stderr(), /^nsq: connect to 127\.0\.0\.1:\d+: unable to verify the first certificate\n$/, 'with a one-line reason');
  t.notMatch(bad.stderr(), /\n\s+at /, 'no stack trace');
});

t.test('nsq admin over HTTPS nodes: --http-client-tls-root-ca-file checks, --http-client-tls-insecure-skip-verify skips, neither is refused', async (t) => {
  const { startAdmin, call } = await import('../helpers/admin.js');
  const nsqd = await startNsqd(t, { tlsCert: certs.serverCert, tlsKey: certs.serverKey, httpsAddress: '127.0.0.1:0', tlsRequired: TLS_REQUIRED });
  nsqd.getTopic('secured').getChannel('c');
  const https = `https://127.0.0.1:${nsqd.httpsEndpoint!.port}`;
  const checked = await startAdmin(t, [`--nsqd-http-address=${https}`, `--http-client-tls-root-ca-file=${certs.caCert}`]);
  t.same((await call<{ topics: string[] }>(`${checked.url}/api/topics`)).body.topics, ['secured'], 'read over HTTPS, the CA checked');
  t.equal((await call(`${checked.url}/api/topics/secured/c`, 'POST', { action: 'pause' })).status, 200);
  await waitFor('paused over HTTPS', () => nsqd.getTopic('secured').getChannel('c').paused);
  const skipped = await startAdmin(t, [`--nsqd-http-address=${https}`, '--http-client-tls-insecure-skip-verify']);
  t.same((await call<{ topics: string[] }>(`${skipped.url}/api/topics`)).body.topics, ['secured']);
  const refused = await startAdmin(t, [`--nsqd-http-address=${https}`]);
  const r = await call<{ message: string }>(`${refused.url}/api/topics`);
  t.equal(r.status, 502, 'an unknown CA: nothing answered');
  t.match(r.body.message, /^UPSTREAM_ERROR: /);
});
