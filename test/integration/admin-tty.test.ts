// `nsq topic delete` at a terminal (tmux) without --yes: it asks, and only "y" deletes.

import t from 'tap';
import { nsq, post, registered, startCliCluster, topicOn } from '../helpers/cli-cluster.js';
import { BIN } from '../helpers/nsqd.js';
import { tmuxServer } from '../helpers/tmux.js';

t.test('the question, answered n then y', async (t) => {
  const c = await startCliCluster(t);
  for (const node of c.nodes) await post(node, '/mpub?topic=orders', 'x\ny');
  await registered(c.lookupd, 'orders', 2);
  const tmux = tmuxServer(t);
  // the shell prints the exit status and keeps the pane open for the screen to be read
  const run = (session: string): void => {
    tmux('new-session', '-d', '-s', session, '-x', '100', '-y', '12', `${process.execPath} ${BIN} topic delete orders --lookupd-http-address=${c.lookupd}; echo "exit $?"; sleep 60`);
  };

  run('no');
  await tmux.screenWith('no', 'delete topic orders on 2 nodes? [y/N]');
  tmux('send-keys', '-t', 'no', 'n', 'Enter');
  const no = await tmux.screenWith('no', /exit \d/);
  t.match(no, /\[y\/N\] n\nnsq: nothing deleted\nexit 1/);
  for (const node of c.nodes) t.equal((await topicOn(node, 'orders'))?.depth, 2, `"n": orders is still on ${node}`);

  run('yes');
  await tmux.screenWith('yes', 'delete topic orders on 2 nodes? [y/N]');
  tmux('send-keys', '-t', 'yes', 'y', 'Enter');
  const yes = await tmux.screenWith('yes', /exit \d/);
  t.match(yes, /exit 0/);
  for (const node of c.nodes) {
    t.match(yes, `nsqd ${node}: deleted topic orders`);
    t.notOk(await topicOn(node, 'orders'), `"y": orders is gone from ${node}`);
  }
  t.match(yes, `lookupd ${c.lookupd}: removed the registration of topic orders`);
  const after = await nsq(t, ['ls', `--lookupd-http-address=${c.lookupd}`]);
  t.match(after.stdout, /no topics/);
});
