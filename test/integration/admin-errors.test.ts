// `nsq topic|channel` when it must not act, or cannot: delete/empty without --yes and without a
// terminal, bad names (both before any request), a node down, a topic no node has, and
// --auth-secret against a node started with --auth-http-api.

import t from 'tap';
import { startAuthd } from '../helpers/authd.js';
import { lookupdTopics, nsq, post, registered, startCliCluster, topicOn, untouchable } from '../helpers/cli-cluster.js';
import { startNsqd } from '../helpers/nsqd.js';
import { deadAddress } from '../helpers/ports.js';

t.test('refusals, failures and names, against a lookupd and its node', async (t) => {
  const c = await startCliCluster(t, 1);
  const [a] = c.nodes as [string];
  await post(a, '/topic/create?topic=orders');
  await post(a, '/channel/create?topic=orders&channel=billing');
  await post(a, '/mpub?topic=orders', 'm1\nm2\nm3');
  await registered(c.lookupd, 'orders', 1);
  const dead = await deadAddress();
  const watched = await untouchable(t);
  const NAME_RULE = '1-64 characters of [.a-zA-Z0-9_-], optionally ending in #ephemeral';

  const [noYes, noYesEmpty, noYesChannel, down, missing, missingViaLookupd, badTopic, badChannel, noAction] = await Promise.all([
    // stdin is a pipe: nobody to ask. The lookupd given is one that must not be contacted.
    nsq(t, ['topic', 'delete', 'orders', `--lookupd-http-address=${watched.address}`]),
    nsq(t, ['topic', 'empty', 'orders', `--nsqd-http-address=${watched.address}`]),
    nsq(t, ['channel', 'delete', 'orders', 'billing', `--nsqd-http-address=${watched.address}`]),
    nsq(t, ['topic', 'pause', 'orders', `--nsqd-http-address=${a}`, `--nsqd-http-address=${dead}`]),
    nsq(t, ['topic', 'pause', 'nope', `--nsqd-http-address=${a}`]),
    nsq(t, ['topic', 'pause', 'nope', `--lookupd-http-address=${c.lookupd}`]),
    nsq(t, ['topic', 'create', 'bad name', `--nsqd-http-address=${watched.address}`]),
    nsq(t, ['channel', 'pause', 'orders', 'bad/channel', `--nsqd-http-address=${watched.address}`]),
    nsq(t, ['topic', `--nsqd-http-address=${watched.address}`]),
  ]);

  t.equal(noYes.code, 2, 'delete without --yes or a terminal: exit 2');
  t.equal(noYes.stderr, 'nsq: refusing to delete topic orders without --yes (no terminal to ask)\n');
  t.equal(noYes.stdout, '');
  t.equal(noYesEmpty.code, 2);
  t.equal(noYesEmpty.stderr, 'nsq: refusing to empty topic orders without --yes (no terminal to ask)\n');
  t.equal(noYesChannel.code, 2);
  t.equal(noYesChannel.stderr, 'nsq: refusing to delete channel orders/billing without --yes (no terminal to ask)\n');
  // the control: everything is still there
  const orders = await topicOn(a, 'orders');
  t.equal(orders?.channels.find((ch) => ch.channel_name === 'billing')?.depth, 3, 'orders/billing is still there with its 3 messages');
  t.ok((await lookupdTopics(c.lookupd)).includes('orders'), 'lookupd still lists orders');

  t.equal(down.code, 1, 'a node down: exit 1');
  t.equal(down.stdout, `nsqd ${a}: paused topic orders\n`, 'the node that answered did it');
  t.equal(down.stderr, `nsq: nsqd ${dead}: pause topic orders failed: connection refused\n`);
  t.equal((await topicOn(a, 'orders'))?.paused, true);

  t.equal(missing.code, 1, 'a topic the node does not have: exit 1');
  t.equal(missing.stdout, `nsqd ${a}: has no topic nope (404 TOPIC_NOT_FOUND)\n`);
  t.equal(missing.stderr, 'nsq: no node has topic nope\n');
  t.equal(missingViaLookupd.code, 1);
  t.equal(missingViaLookupd.stderr, `nsq: no nsqd has topic nope (lookupd ${c.lookupd})\n`);

  t.equal(badTopic.code, 2);
  t.equal(badTopic.stderr, `nsq: invalid topic name "bad name": ${NAME_RULE}\n`);
  t.equal(badChannel.code, 2);
  t.equal(badChannel.stderr, `nsq: invalid channel name "bad/channel": ${NAME_RULE}\n`);
  t.equal(noAction.code, 2);
  t.equal(noAction.stderr, 'nsq: topic needs an action: create, delete, pause, unpause, empty\n');
  t.equal(watched.connections(), 0, 'no request was made by the refused commands');
});

t.test('--auth-secret is the bearer of the requests to a node started with --auth-http-api', async (t) => {
  const admin = { ttl: 3600, authorizations: [{ topic: '^orders$', channels: ['.*'], permissions: ['publish', 'subscribe'] }] };
  const authd = await startAuthd(t, { admin });
  const nsqd = await startNsqd(t, { authHttpAddresses: [authd.address], authHttpApi: true });
  nsqd.getTopic('orders').getChannel('billing');
  const node = `127.0.0.1:${nsqd.httpEndpoint.port}`;
  const [without, withSecret] = await Promise.all([
    nsq(t, ['channel', 'pause', 'orders', 'billing', `--nsqd-http-address=${node}`]),
    nsq(t, ['topic', 'pause', 'orders', `--nsqd-http-address=${node}`, '--auth-secret=admin']),
  ]);
  t.equal(without.code, 1, 'refused without the secret');
  t.equal(without.stderr, `nsq: nsqd ${node}: pause channel orders/billing failed: 401 AUTH_REQUIRED\n`);
  t.notOk(nsqd.getTopic('orders').getExistingChannel('billing')!.paused);
  t.equal(withSecret.code, 0, withSecret.stderr);
  t.equal(withSecret.stdout, `nsqd ${node}: paused topic orders\n`);
  t.ok(nsqd.getTopic('orders').paused);
  t.ok(authd.hits.some((h) => h.query.get('secret') === 'admin'), 'the node asked the auth server about the secret');
});
