// What `nsq top` itself costs (issue 19): the real binary in a tmux terminal of 160x48, polling
// 3 nodes every second, each with 20 topics × 2 channels, one consumer per channel and a trickle of
// messages so every row's rates move (a frame that changes at every poll, the dashboard's worst
// case). Its CPU (utime + stime from /proc/<pid>/stat) over 30 s after a 5 s warm-up, and its RSS.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { benchPub } from '../src/tools/bench/pub.js';
import { startSub } from '../src/tools/bench/sub.js';
import { BenchServer, type ServerOptions } from './server.js';
import type { BenchCase, BenchConfig } from './cases.js';

const NSQ_BIN = fileURLToPath(new URL('../../bin/nsq.js', import.meta.url));
const NODES = 3;
const TOPICS = 20;
const CHANNELS = 2;
const SIZE: [number, number] = [160, 48];
/** Linux's USER_HZ: /proc/<pid>/stat counts CPU time in these */
const TICKS_PER_S = 100;

function cpuTicks(pid: number): number {
  // the fields after the command's ")" : state is the 3rd, utime the 14th, stime the 15th
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]);
}

function rssMiB(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m === null ? 0 : Number(m[1]) / 1024;
}

export const topCost: BenchCase = {
  name: 'top',
  title: `nsq top's own cost: ${SIZE[0]}x${SIZE[1]}, 1 s polls of ${NODES} nodes × ${TOPICS} topics × ${CHANNELS} channels`,
  run: async (cfg: BenchConfig) => {
    try {
      execFileSync('tmux', ['-V'], { stdio: 'ignore' });
    } catch {
      throw new Error('needs tmux (the dashboard runs in a real terminal)');
    }
    // NSQ_BENCH_TOP_SECONDS: measure longer, to see whether its memory keeps growing
    const seconds = Number(process.env['NSQ_BENCH_TOP_SECONDS'] ?? (cfg.quick ? 5 : 30));
    const dirs = Array.from({ length: NODES }, () => mkdtempSync(join(tmpdir(), 'nsq-bench-top-')));
    const servers = await Promise.all(dirs.map((d) => BenchServer.start({ memQueueSize: 10_000, args: [`--data-path=${d}`] } satisfies ServerOptions)));
    const socket = `nsq-bench-top-${process.pid}`;
    const tmux = (...args: string[]): string => execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });
    const stops: (() => Promise<unknown>)[] = [];
    try {
      const topics = Array.from({ length: TOPICS }, (_, i) => `top_${i}`);
      for (const s of servers) for (const t of topics) for (let c = 0; c < CHANNELS; c++) await s.createChannel(t, `ch${c}`);
      // a consumer on every channel of every node, and 10 messages a second into every topic
      for (const s of servers) {
        for (const t of topics) {
          for (let c = 0; c < CHANNELS; c++) {
            const sub = await startSub({ addresses: [`127.0.0.1:${s.tcpPort}`], topic: t, channel: `ch${c}`, connections: 1, maxInFlight: 10, durationMs: (seconds + 60) * 1000 });
            stops.push(() => {
              sub.stop();
              return sub.done;
            });
          }
          const pub = benchPub({ addresses: [`127.0.0.1:${s.tcpPort}`], topic: t, connections: 1, durationMs: (seconds + 10) * 1000, size: 200, batch: 1, rate: 10 });
          stops.push(() => pub);
        }
      }
      const env = ['env', '-u', 'NO_COLOR', '-u', 'FORCE_COLOR', '-u', 'NODE_OPTIONS', 'TERM=xterm-256color'];
      const prof = cfg.profDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${cfg.profDir}/top`];
      const cmd = [...env, process.execPath, ...prof, NSQ_BIN, 'top', ...servers.map((s) => `--nsqd-http-address=127.0.0.1:${s.httpPort}`), '--interval=1s'];
      const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
      tmux('new-session', '-d', '-s', 'top', '-x', String(SIZE[0]), '-y', String(SIZE[1]), cmd.map(quote).join(' '));
      const pid = Number(tmux('display-message', '-p', '-t', 'top', '#{pane_pid}').trim());
      // drawn: every topic listed once the first polls are in
      const deadline = Date.now() + 20_000;
      while (!/top_0 /.test(tmux('capture-pane', '-p', '-t', 'top'))) {
        if (Date.now() > deadline) throw new Error(`nsq top never drew its topics:\n${tmux('capture-pane', '-p', '-t', 'top')}`);
        await sleep(100);
      }
      await sleep(5000);
      const rss0 = rssMiB(pid);
      const t0 = cpuTicks(pid);
      const at = Date.now();
      await sleep(seconds * 1000);
      const ticks = cpuTicks(pid) - t0;
      const wall = (Date.now() - at) / 1000;
      const rss = rssMiB(pid);
      const cpuPct = (100 * ticks) / TICKS_PER_S / wall;
      // q ends it, and writes the profile when asked for
      tmux('send-keys', '-t', 'top', 'q');
      await sleep(1000);
      return {
        rssMiB: Math.round(rss * 10) / 10,
        other: `${cpuPct.toFixed(1)} % of one core over ${Math.round(wall)} s; RSS ${rss0.toFixed(0)} -> ${rss.toFixed(0)} MiB`,
        details: { cpuPercentOfOneCore: Math.round(cpuPct * 10) / 10, seconds: wall, rssMiB: rss, rssAtStartMiB: rss0, nodes: NODES, topics: TOPICS, channels: CHANNELS, size: SIZE, intervalMs: 1000 },
      };
    } finally {
      try {
        execFileSync('tmux', ['-L', socket, 'kill-server'], { stdio: 'ignore' });
      } catch {
        // the server is gone already: q ended its only session
      }
      await Promise.allSettled(stops.map((s) => s()));
      await Promise.all(servers.map((s) => s.stop()));
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    }
  },
};
