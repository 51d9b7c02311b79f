// `nsq top` in a real terminal (tmux): the screen a person sees, keys they press, and the effect
// on the server.

import t from 'tap';
import { startAuthd } from '../helpers/authd.js';
import { BIN, startNsqd } from '../helpers/nsqd.js';
import { tmuxServer } from '../helpers/tmux.js';

t.test('nsq top in a terminal: navigate, pause a channel on the server, quit', async (t) => {
  const nsqd = await startNsqd(t);
  const topic = nsqd.getTopic('orders');
  topic.getChannel('audit');
  topic.getChannel('billing');
  const body = Buffer.from('x');
  for (let i = 0; i < 5; i++) topic.publish(body, 0, 1);
  const tmux = tmuxServer(t);
  const { screenWith } = tmux;
  const session = 'top';
  tmux('new-session', '-d', '-s', session, '-x', '110', '-y', '24', `${process.execPath} ${BIN} top --nsqd-http-address=127.0.0.1:${nsqd.httpEndpoint.port} --interval=200ms`);
  const first = await screenWith(session, 'billing');
  t.match(first, /nsq top\s+nodes 1 up/);
  t.match(first, /TOPIC \/ CHANNEL\s+DEPTH/);
  t.match(first, /└ billing\s+5/);

  for (const key of ['j', 'j']) {
    tmux('send-keys', '-t', session, key);
    await new Promise((r) => setTimeout(r, 150));
  }
  tmux('send-keys', '-t', session, 'p');
  await screenWith(session, 'pause channel orders/billing: done on 1 node');
  t.ok(topic.getExistingChannel('billing')!.paused, 'p paused the channel on the server');
  t.notOk(topic.getExistingChannel('audit')!.paused);
  await screenWith(session, /└ billing\s+5.*paused/);

  tmux('send-keys', '-t', session, '?');
  await screenWith(session, 'any key closes this help');
  tmux('send-keys', '-t', session, 'x');
  await screenWith(session, 'TOPIC / CHANNEL');

  // a narrow terminal drops the least important columns
  tmux('resize-window', '-t', session, '-x', '60');
  const narrow = await screenWith(session, (s) => !s.includes('LAST MINUTE') && s.includes('DEPTH'));
  t.notMatch(narrow, /LAST MINUTE/, 'sparkline column dropped at 60 columns');
  t.match(narrow, /DEPTH/);

  tmux('send-keys', '-t', session, 'q');
  const deadline = Date.now() + 5000;
  while (tmux.alive(session) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  t.notOk(tmux.alive(session), 'q quits the program');
});

t.test('nsq top --auth-secret: actions on a node started with --auth-http-api carry the secret as the bearer', async (t) => {
  const admin = { ttl: 3600, authorizations: [{ topic: '^orders$', channels: ['.*'], permissions: ['publish', 'subscribe'] }] };
  const authd = await startAuthd(t, { admin });
  const nsqd = await startNsqd(t, { authHttpAddresses: [authd.address], authHttpApi: true });
  const topic = nsqd.getTopic('orders');
  topic.getChannel('billing');
  const tmux = tmuxServer(t);
  const { screenWith } = tmux;
  const top = (session: string, extra: string): void => {
    tmux('new-session', '-d', '-s', session, '-x', '110', '-y', '24', `${process.execPath} ${BIN} top --nsqd-http-address=127.0.0.1:${nsqd.httpEndpoint.port} --interval=200ms ${extra}`);
  };
  // the control: without the secret the pause is refused, and top says so
  top('nosecret', '');
  await screenWith('nosecret', 'billing');
  for (const key of ['j', 'j']) {
    tmux('send-keys', '-t', 'nosecret', key);
    await new Promise((r) => setTimeout(r, 150));
  }
  tmux('send-keys', '-t', 'nosecret', 'p');
  await screenWith('nosecret', /pause channel orders\/billing failed on 127\.0\.0\.1:\d+: 401 AUTH_REQUIRED/);
  t.notOk(topic.getExistingChannel('billing')!.paused, 'refused without the secret');

  top('secret', '--auth-secret=admin');
  await screenWith('secret', 'billing');
  for (const key of ['j', 'j']) {
    tmux('send-keys', '-t', 'secret', key);
    await new Promise((r) => setTimeout(r, 150));
  }
  tmux('send-keys', '-t', 'secret', 'p');
  await screenWith('secret', 'pause channel orders/billing: done on 1 node');
  t.ok(topic.getExistingChannel('billing')!.paused, 'paused with the secret');
  t.equal(authd.hits.length, 1, 'the auth server was asked once, for the secret top sent');
  t.equal(authd.hits[0]?.query.get('secret'), 'admin');
});
