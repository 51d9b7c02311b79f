// `nsq top` without a terminal: --once tables, --plain (nsq_stat) lines, the nsq_stat name, errors.

import { mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { BIN, spawnNsq, startNsqd } from '../helpers/nsqd.js';

t.test('--once prints the cluster as a table (also the default without a TTY)', async (t) => {
  const nsqd = await startNsqd(t);
  const topic = nsqd.getTopic('orders');
  topic.getChannel('billing');
  const body = Buffer.from('x');
  for (let i = 0; i < 7; i++) topic.publish(body, 0, 1);
  nsqd.getTopic('events').pause();
  const http = `127.0.0.1:${nsqd.httpEndpoint.port}`;
  for (const args of [['--once'], []]) {
    const p = spawnNsq(t, ['top', `--nsqd-http-address=${http}`, '--interval=100ms', ...args]);
    t.equal((await p.exit).code, 0);
    const out = p.stdout();
    t.match(out, /^nodes: 1 up, 0 down\s+topics: 2/);
    t.match(out, /│ events\s+│\s+0 │.*│ paused │/);
    t.match(out, /│\s+billing\s+│\s+7 │/);
  }
});

t.test('--plain prints nsq_stat lines; invoked as nsq_stat it is the default', async (t) => {
  const nsqd = await startNsqd(t);
  const topic = nsqd.getTopic('orders');
  topic.getChannel('billing');
  const body = Buffer.from('x');
  for (let i = 0; i < 4; i++) topic.publish(body, 0, 1);
  const http = `127.0.0.1:${nsqd.httpEndpoint.port}`;
  const p = spawnNsq(t, ['top', '--plain', '--topic=orders', '--channel=billing', '--count=2', '--interval=100ms', `--nsqd-http-address=${http}`]);
  t.equal((await p.exit).code, 0);
  const lines = p.stdout().trimEnd().split('\n');
  t.equal(lines.length, 4, 'header (2 lines) and 2 rows');
  t.match(lines[1], /ingress\s+egress \|\s+total\s+mem\s+disk\s+inflt\s+def \|\s+req\s+t-o\s+msgs\s+clients/);
  t.match(lines[2], /^\s+0\s+0 \|\s+4\s+4\s+0\s+0\s+0 \|\s+0\s+0\s+4\s+0$/);

  const dir = mkdtempSync(join(tmpdir(), 'nsq-stat-'));
  symlinkSync(BIN, join(dir, 'nsq_stat'));
  const s = spawnNsq(t, ['-topic=orders', '-channel=billing', '-count=1', '-interval=100ms', `-nsqd-http-address=${http}`], { argv0: join(dir, 'nsq_stat') });
  t.equal((await s.exit).code, 0);
  t.match(s.stdout(), /------rate------\+/);
  t.equal(s.stdout().trimEnd().split('\n').length, 3);
});

t.test('errors: missing channel, unknown channel, node down', async (t) => {
  const nsqd = await startNsqd(t);
  nsqd.getTopic('orders');
  const http = `127.0.0.1:${nsqd.httpEndpoint.port}`;
  const noChannel = spawnNsq(t, ['top', '--plain', '--topic=orders', `--nsqd-http-address=${http}`]);
  t.equal((await noChannel.exit).code, 2);
  t.match(noChannel.stderr(), /^nsq: --plain needs --topic and --channel\n$/);
  const unknown = spawnNsq(t, ['top', '--plain', '--topic=orders', '--channel=nope', `--nsqd-http-address=${http}`]);
  t.equal((await unknown.exit).code, 1);
  t.match(unknown.stderr(), /failed to find channel\(nope\) in stats metadata for topic\(orders\)/);
  await nsqd.stop();
  const down = spawnNsq(t, ['top', '--once', `--nsqd-http-address=${http}`]);
  t.equal((await down.exit).code, 1);
  t.match(down.stderr(), /^nsq: no nsqd answered: 127\.0\.0\.1:\d+: connection refused\n$/);
});
