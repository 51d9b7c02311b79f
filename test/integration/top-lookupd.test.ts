// `nsq top --lookupd-http-address` with a real `nsq lookupd` and an `nsq serve` registered to it:
// the header counts nsqd nodes only; a lookupd that stops answering is said so on its own line,
// never counted as a node that is down.

import t from 'tap';
import { serverPorts, spawnNsq } from '../helpers/nsqd.js';
import { nsqCommand, tmuxServer } from '../helpers/tmux.js';

/** the program's start on a loaded machine: ink and react load before the first frame */
const FIRST_FRAME_MS = 15_000;
const EPHEMERAL = ['--tcp-address=127.0.0.1:0', '--http-address=127.0.0.1:0'];

t.test('lookupds are not nodes: the count is of nsqd, before and after the lookupd goes away', async (t) => {
  const lookupd = spawnNsq(t, ['lookupd', ...EPHEMERAL]);
  const l = await serverPorts(lookupd);
  const serve = spawnNsq(t, ['serve', ...EPHEMERAL, `--lookupd-tcp-address=127.0.0.1:${l.tcp}`]);
  const n = await serverPorts(serve);
  t.equal((await fetch(`http://127.0.0.1:${n.http}/topic/create?topic=orders`, { method: 'POST' })).status, 200);

  const tmux = tmuxServer(t);
  tmux('new-session', '-d', '-s', 'l', '-x', '110', '-y', '24', nsqCommand(['top', `--lookupd-http-address=127.0.0.1:${l.http}`, '--interval=200ms']));
  const found = await tmux.screenWith('l', /^orders /m, FIRST_FRAME_MS);
  t.match(found, /^nsq top  nodes 1 up  in/, 'one node: the nsqd lookupd lists, not the lookupd');

  lookupd.child.kill('SIGTERM');
  await lookupd.exit;
  const gone = await tmux.screenWith('l', `lookupd 127.0.0.1:${l.http} down`);
  t.match(gone, /^nsq top  nodes 1 up  in/, 'still one node up and none down');
  t.match(gone, new RegExp(`^lookupd 127\\.0\\.0\\.1:${l.http} down: connection refused \\(retrying\\)$`, 'm'), 'the lookupd on a line of its own');
  t.match(gone, /^orders /m, 'the node found before is still watched');
});
