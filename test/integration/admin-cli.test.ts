// `nsq topic|channel <action>` run as a user runs it, against a real cluster (nsq lookupd + 2 nsq
// serve, spawned): what each node's /stats and lookupd say afterwards, and the line per node.

import t from 'tap';
import { getJson, lookupdTopics, nsq, registered, seedOrders, startCliCluster, topicOn } from '../helpers/cli-cluster.js';
import { waitFor } from '../helpers/stats.js';

const c = await startCliCluster(t);
const [a, b] = c.nodes as [string, string];
const viaLookupd = `--lookupd-http-address=${c.lookupd}`;
const lines = (out: string): string[] => out.trimEnd().split('\n').sort();
const channelOn = async (node: string, topic: string, channel: string) => (await topicOn(node, topic))?.channels.find((ch) => ch.channel_name === channel);

// orders on both nodes, with channels billing and audit: 3 messages on a, 2 on b
await seedOrders(c);

t.test('pause and unpause: through lookupd on both nodes; a channel on one node', async (t) => {
  const pause = await nsq(t, ['topic', 'pause', 'orders', viaLookupd]);
  t.equal(pause.code, 0, pause.stderr);
  t.same(lines(pause.stdout), [`nsqd ${a}: paused topic orders`, `nsqd ${b}: paused topic orders`].sort());
  t.equal(pause.stderr, '');
  for (const node of [a, b]) t.equal((await topicOn(node, 'orders'))?.paused, true, `/stats of ${node}: orders paused`);

  const channel = await nsq(t, ['channel', 'pause', 'orders', 'billing', `--nsqd-http-address=${a}`]);
  t.equal(channel.code, 0);
  t.equal(channel.stdout, `nsqd ${a}: paused channel orders/billing\n`);
  t.equal((await channelOn(a, 'orders', 'billing'))?.paused, true);
  t.equal((await channelOn(a, 'orders', 'audit'))?.paused, false, 'the other channel is not paused');
  t.equal((await channelOn(b, 'orders', 'billing'))?.paused, false, 'nor the channel on the node not named');

  const unpause = await nsq(t, ['topic', 'unpause', 'orders', viaLookupd]);
  t.equal(unpause.code, 0);
  for (const node of [a, b]) t.equal((await topicOn(node, 'orders'))?.paused, false, `/stats of ${node}: orders unpaused`);
});

t.test('create: a topic on one node; a channel through lookupd on every node when none has its topic', async (t) => {
  const [topic, channel] = await Promise.all([
    nsq(t, ['topic', 'create', 'solo', `--nsqd-http-address=${b}`]),
    nsq(t, ['channel', 'create', 'fresh', 'tap', viaLookupd]),
  ]);
  t.equal(topic.code, 0);
  t.equal(topic.stdout, `nsqd ${b}: created topic solo\n`);
  t.ok(await topicOn(b, 'solo'), 'solo on b');
  t.notOk(await topicOn(a, 'solo'), 'and not on a');
  t.equal(channel.code, 0, channel.stderr);
  t.same(lines(channel.stdout), [`nsqd ${a}: created channel fresh/tap`, `nsqd ${b}: created channel fresh/tap`].sort());
  for (const node of [a, b]) t.ok(await channelOn(node, 'fresh', 'tap'), `fresh/tap on ${node}`);
});

t.test('empty a channel, delete a channel and a topic through lookupd (--yes)', async (t) => {
  const empty = await nsq(t, ['channel', 'empty', 'orders', 'billing', viaLookupd, '--yes']);
  t.equal(empty.code, 0, empty.stderr);
  t.same(lines(empty.stdout), [`nsqd ${a}: emptied channel orders/billing`, `nsqd ${b}: emptied channel orders/billing`].sort());
  t.equal((await channelOn(a, 'orders', 'billing'))?.depth, 0);
  t.equal((await channelOn(b, 'orders', 'billing'))?.depth, 0);
  t.equal((await channelOn(a, 'orders', 'audit'))?.depth, 3, 'the other channel keeps its messages');
  t.equal((await channelOn(b, 'orders', 'audit'))?.depth, 2);

  await registered(c.lookupd, 'fresh', 2);
  await waitFor('lookupd lists fresh/tap', async () => (await getJson<{ channels: string[] }>(`http://${c.lookupd}/channels?topic=fresh`)).body.channels.includes('tap'));
  const channel = await nsq(t, ['channel', 'delete', 'fresh', 'tap', viaLookupd, '--yes']);
  t.equal(channel.code, 0, channel.stderr);
  t.same(lines(channel.stdout), [`lookupd ${c.lookupd}: removed the registration of channel fresh/tap`, `nsqd ${a}: deleted channel fresh/tap`, `nsqd ${b}: deleted channel fresh/tap`].sort());
  for (const node of [a, b]) {
    t.ok(await topicOn(node, 'fresh'), `the topic stays on ${node}`);
    t.notOk(await channelOn(node, 'fresh', 'tap'), `the channel is gone from ${node}`);
  }
  t.same((await getJson<{ channels: string[] }>(`http://${c.lookupd}/channels?topic=fresh`)).body.channels, [], 'lookupd no longer lists the channel');

  const topic = await nsq(t, ['topic', 'delete', 'orders', viaLookupd, '--yes']);
  t.equal(topic.code, 0, topic.stderr);
  t.same(lines(topic.stdout), [`lookupd ${c.lookupd}: removed the registration of topic orders`, `nsqd ${a}: deleted topic orders`, `nsqd ${b}: deleted topic orders`].sort());
  for (const node of [a, b]) t.notOk(await topicOn(node, 'orders'), `orders is gone from ${node}`);
  t.notOk((await lookupdTopics(c.lookupd)).includes('orders'), 'lookupd no longer lists orders');
  t.equal((await getJson(`http://${c.lookupd}/lookup?topic=orders`)).status, 404);
  t.ok((await lookupdTopics(c.lookupd)).includes('fresh'), 'the other topics stay registered');
  t.ok(await topicOn(a, 'fresh'));
});
