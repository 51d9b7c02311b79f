// `nsq serve --nodes N`: N ordinary nodes on one machine under this supervising process
// (docs/scaling.md). Each node is `nsq serve` with the same command line and its own ports, data path,
// node ID and log prefix; this process loads no engine code, holds no messages, and only starts,
// restarts and stops the nodes.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { availableParallelism, constants, hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { defaultOptions, type NsqdOptions } from '../src/nsqd/options.js';
import { UserError } from '../src/util/errors.js';
import { formatHostPort, parseHostPort } from '../src/util/host-port.js';
import { Logger } from '../src/util/log.js';
import { isSingleExecutable } from '../src/version.js';
import { badFlag, integerFlag, usageError } from './flags/values.js';
import { NODE_INDEX_ENV, type NodeListening } from './node-index.js';

export const DEFAULT_PORT_STEP = 2;
/** a node that dies this soon after it was started, this many times in a row, stops them all */
const QUICK_DEATH_MS = 2000;
const QUICK_DEATHS = 3;
/** the wait before a restart: doubled by each quick death before it */
const RESTART_DELAY_MS = 200;

/** --nodes: an integer from 1, or auto (one node per core). */
export function nodeCount(raw: unknown): number {
  const text = String(Array.isArray(raw) ? raw[raw.length - 1] : raw);
  if (text === 'auto') return availableParallelism();
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(n >= 1 && n <= 1024)) throw badFlag('nodes', text, 'want auto or an integer from 1 to 1024');
  return n;
}

/** One node of the plan: the flags that make it its own, after the user's (the last value wins). */
export interface NodePlan {
  index: number;
  dataPath: string;
  flags: string[];
}

interface Listener {
  name: string;
  port: number;
}

/** host:port with the port moved by `by` (port 0, any free port, stays 0). */
function shifted(flag: string, address: string, by: number): string {
  const a = parseHostPort(address);
  if (a === null) throw badFlag(flag, address, 'want host:port');
  if (a.port === 0) return address;
  if (a.port + by > 65535) throw usageError(`--nodes: --${flag} ${address} moved by ${by} is past port 65535; give a lower port or a smaller --port-step`);
  return formatHostPort({ host: a.host, port: a.port + by });
}

const portOf = (address: string): number => parseHostPort(address)?.port ?? 0;

/** nsqd's `[nsqd] ` becomes `[nsqd-1] ` for node 1; a prefix without a closing bracket gets `[node-1] `. */
export function nodeLogPrefix(prefix: string, index: number): string {
  return /\]\s*$/.test(prefix) ? prefix.replace(/\](\s*)$/, `-${index}]$1`) : `${prefix}[node-${index}] `;
}

/**
 * Every node's own flags from the options the command line and its --config give (o) and serve's
 * flags (argv); refuses what cannot work: ports that collide, a replica that is a sibling.
 */
export function planNodes(o: Partial<NsqdOptions>, argv: Record<string, unknown>, count: number, step: number): NodePlan[] {
  const d = defaultOptions();
  const tcp = o.tcpAddress ?? d.tcpAddress;
  const http = o.httpAddress ?? d.httpAddress;
  // the HTTPS listener exists only with a certificate (src/nsqd/tls.ts)
  const https = (o.tlsCert ?? '') !== '' && (o.httpsAddress ?? d.httpsAddress) !== '' ? (o.httpsAddress ?? d.httpsAddress) : null;
  const withLookupd = argv['with-lookupd'] === true;
  const lookupdTcp = String(argv['with-lookupd-tcp-address'] ?? '');
  if (withLookupd && portOf(lookupdTcp) === 0) throw usageError('--nodes with --with-lookupd needs a --with-lookupd-tcp-address with a port: the other nodes register with it there');
  if (argv['with-admin'] === true && !withLookupd) throw usageError('--nodes with --with-admin needs --with-lookupd, through which the page finds every node (or run nsq admin --lookupd-http-address)');

  const listeners = (s: number): Listener[][] =>
    Array.from({ length: count }, (_, i) => {
      const mine: Listener[] = [
        { name: 'TCP', port: portOf(tcp) },
        { name: 'HTTP', port: portOf(http) },
      ];
      if (https !== null) mine.push({ name: 'HTTPS', port: portOf(https) });
      for (const l of mine) if (l.port !== 0) l.port += i * s;
      if (i === 0 && withLookupd) mine.push({ name: 'lookupd TCP', port: portOf(lookupdTcp) }, { name: 'lookupd HTTP', port: portOf(String(argv['with-lookupd-http-address'] ?? '')) });
      if (i === 0 && argv['with-admin'] === true) mine.push({ name: 'admin HTTP', port: portOf(String(argv['with-admin-http-address'] ?? '')) });
      return mine.filter((l) => l.port !== 0);
    });
  const collision = (s: number): string | null => {
    const seen = new Map<number, string>();
    for (const [i, mine] of listeners(s).entries()) {
      for (const l of mine) {
        const other = seen.get(l.port);
        if (other !== undefined) return `node ${i}'s ${l.name} port ${l.port} is ${other} port too`;
        seen.set(l.port, `node ${i}'s ${l.name}`);
      }
    }
    return null;
  };
  const clash = collision(step);
  if (clash !== null) {
    let fits = step + 1;
    while (fits < 1000 && collision(fits) !== null) fits++;
    throw usageError(`--nodes ${count} with --port-step ${step}: ${clash}; give --port-step ${fits} (or ports further apart)`);
  }

  // a copy on a sibling dies with the machine it was meant to survive
  const local = new Set(['', '127.0.0.1', 'localhost', '::1', '0.0.0.0', '::', hostname(), parseHostPort(tcp)?.host ?? '', o.broadcastAddress ?? '']);
  for (const replica of o.replicaAddresses ?? []) {
    const r = parseHostPort(replica);
    const sibling = r === null || !local.has(r.host) ? -1 : listeners(step).findIndex((mine) => mine.some((l) => l.name === 'TCP' && l.port === r.port));
    if (sibling !== -1) throw usageError(`--nodes: --replica-address ${replica} is node ${sibling} of these nodes, on this machine: a replica must be another machine's node`);
  }

  const base = resolve(o.dataPath || '.');
  const nodeId = o.nodeId ?? d.nodeId;
  return Array.from({ length: count }, (_, i) => {
    const dataPath = join(base, `node-${i}`);
    const flags = [`--tcp-address=${shifted('tcp-address', tcp, i * step)}`, `--http-address=${shifted('http-address', http, i * step)}`];
    if (https !== null) flags.push(`--https-address=${shifted('https-address', https, i * step)}`);
    flags.push(`--data-path=${dataPath}`, `--node-id=${(nodeId + i) % 1024}`, `--log-prefix=${nodeLogPrefix(o.logPrefix ?? d.logPrefix, i)}`);
    if ((o.broadcastTcpPort ?? 0) !== 0) flags.push(`--broadcast-tcp-port=${o.broadcastTcpPort! + i * step}`);
    if ((o.broadcastHttpPort ?? 0) !== 0) flags.push(`--broadcast-http-port=${o.broadcastHttpPort! + i * step}`);
    // one name per node: a replica keeps one copy per name
    if ((o.replicaName ?? '') !== '') flags.push(`--replica-name=${o.replicaName}-${i}`);
    if (withLookupd && i > 0) {
      const a = parseHostPort(lookupdTcp)!;
      const host = a.host === '' || a.host === '0.0.0.0' ? '127.0.0.1' : a.host === '::' ? '::1' : a.host;
      flags.push(`--lookupd-tcp-address=${formatHostPort({ host, port: a.port })}`);
    }
    return { index: i, dataPath, flags };
  });
}

/**
 * The data path every node's directory goes in, created if missing. Refuses directories of nodes
 * past `count` (a start with more nodes left them, and their messages would not be read).
 */
export function prepareDataPath(dataPath: string | undefined, count: number, logger: Logger): void {
  const base = resolve(dataPath || '.');
  try {
    if (!existsSync(base)) mkdirSync(base);
  } catch (err) {
    throw new UserError(`--nodes: cannot create the data path ${base} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, 'E_DATA_PATH', 1);
  }
  const extra = readdirSync(base)
    .filter((name) => /^node-\d+$/.test(name) && Number(name.slice(5)) >= count && statSync(join(base, name)).isDirectory())
    .sort((a, b) => Number(a.slice(5)) - Number(b.slice(5)));
  if (extra.length > 0) {
    const most = Number(extra[extra.length - 1]!.slice(5)) + 1;
    throw new UserError(`--nodes ${count}: ${base} also holds ${extra.join(', ')}, whose messages no node would read; start with --nodes ${most}, or move ${extra.length === 1 ? 'it' : 'them'} away`, 'E_DATA_PATH', 1);
  }
  if (existsSync(join(base, 'nsqd.dat'))) logger.warn(`${join(base, 'nsqd.dat')} is a single node's data: --nodes reads only ${join(base, 'node-<i>')}, and its messages stay where they are`);
}

/** A child's end as a number: its exit code, or 128 + the signal that ended it (as a shell says). */
function exitStatus(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  return 128 + (signal === null ? 0 : (constants.signals[signal] ?? 0));
}

const describeExit = (code: number | null, signal: NodeJS.Signals | null): string => (signal !== null ? `killed by ${signal}` : `exit code ${code}`);

interface Node {
  plan: NodePlan;
  child: ChildProcess | null;
  startedAt: number;
  quickDeaths: number;
  restartTimer: NodeJS.Timeout | null;
  status: number;
}

/** The command that starts one node: this program again, as it was started (nsq or nsqd). */
function nodeCommand(command: string[], flags: string[]): { file: string; args: string[]; argv0?: string } {
  // the single executable is the program itself, and takes its name from the argv[0] it was started
  // with (process.argv[1] here: a link named nsqd is resolved away in execPath)
  if (isSingleExecutable()) return { file: process.execPath, args: [...command, ...flags], argv0: process.argv[1]! };
  // the npm install: node runs bin/nsq.js, or a link to it named nsqd
  return { file: process.execPath, args: [...process.execArgv, process.argv[1]!, ...command, ...flags] };
}

/** The user's flags without the supervisor's own (and, for nodes past the first, without what node 0 alone runs). */
function nodeFlags(flags: readonly string[], index: number): string[] {
  const drop = new Set(['nodes', 'port-step', ...(index > 0 ? ['with-lookupd', 'with-admin'] : [])]);
  const valued = new Set(['nodes', 'port-step']);
  const out: string[] = [];
  for (let i = 0; i < flags.length; i++) {
    const f = flags[i]!;
    const name = /^--([^=]+)/.exec(f)?.[1];
    if (name === undefined || !drop.has(name)) out.push(f);
    else if (!f.includes('=') && valued.has(name)) i++;
  }
  return out;
}

/**
 * Runs the nodes until SIGTERM/SIGINT (sent on to every node; a second one kills what is left) and
 * exits with the worst exit status among them. A node that dies is restarted; one that cannot start
 * fails the whole start.
 */
export async function superviseNodes(argv: Record<string, unknown>, count: number, line: { command: string[]; flags: string[] }): Promise<void> {
  const { readNsqdOptions } = await import('./flags/nsqd.js');
  // every value checked once, here: a mistake is one line, not one per node
  const o = await readNsqdOptions(argv);
  const step = argv['port-step'] === undefined ? DEFAULT_PORT_STEP : integerFlag('port-step', argv['port-step'], 1, 65535);
  const plans = planNodes(o, argv, count, step);
  const logger = new Logger(o.logLevel ?? 'info', '[nodes] ');
  logger.setFormat(o.logFormat ?? 'text');
  prepareDataPath(o.dataPath, count, logger);
  if ((o.nsqlookupdTcpAddresses ?? []).length === 0 && argv['with-lookupd'] !== true) {
    logger.warn("no --lookupd-tcp-address: a consumer given one node's address misses what is published to the others; register the nodes with a lookupd and have consumers find them through it (--lookupd-http-address)");
  }

  const nodes: Node[] = plans.map((plan) => ({ plan, child: null, startedAt: 0, quickDeaths: 0, restartTimer: null, status: 0 }));
  let stopping = false;
  let failed = false;
  let signals = 0;
  let allExited: () => void = () => {};
  const exited = new Promise<void>((r) => (allExited = r));
  const running = (): Node[] => nodes.filter((n) => n.child !== null);

  const stopAll = (signal: NodeJS.Signals): void => {
    stopping = true;
    for (const n of nodes) {
      if (n.restartTimer !== null) clearTimeout(n.restartTimer);
      n.restartTimer = null;
      n.child?.kill(signal);
    }
    if (running().length === 0) allExited();
  };
  const onSignal = (sig: NodeJS.Signals): void => {
    signals++;
    if (signals === 1) {
      logger.info(`received ${sig}, stopping ${running().length} node(s)`);
      stopAll(sig);
    } else {
      logger.warn(`received ${sig} again: killing ${running().map((n) => `node ${n.plan.index}`).join(', ') || 'nothing'}`);
      stopAll('SIGKILL');
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  /** Starts one node; resolves with its addresses once it listens, or rejects with how it ended. */
  const start = (n: Node): Promise<NodeListening> =>
    new Promise((resolveListening, rejectStart) => {
      const { file, args, argv0 } = nodeCommand(line.command, [...nodeFlags(line.flags, n.plan.index), ...n.plan.flags]);
      // a process group of its own: a terminal's Ctrl-C reaches the supervisor, which passes it on once
      const child = spawn(file, args, { argv0, stdio: ['ignore', 'inherit', 'inherit', 'ipc'], detached: true, env: { ...process.env, [NODE_INDEX_ENV]: String(n.plan.index) } });
      n.child = child;
      n.startedAt = Date.now();
      let listening = false;
      child.on('message', (m: { listening?: NodeListening }) => {
        if (m.listening === undefined || listening) return;
        listening = true;
        resolveListening(m.listening);
      });
      child.once('error', (err) => {
        logger.error(`node ${n.plan.index}: ${err.message}`);
        // no process at all (the program could not be run): there will be no exit either
        if (child.pid !== undefined) return;
        n.child = null;
        n.status = 1;
        rejectStart(new UserError(`node ${n.plan.index} could not be started: ${err.message}`, 'E_NODE_START', 1));
        if (stopping && running().length === 0) allExited();
      });
      child.once('exit', (code, signal) => {
        n.child = null;
        n.status = exitStatus(code, signal);
        if (!listening) rejectStart(new UserError(`node ${n.plan.index} did not start (${describeExit(code, signal)})`, 'E_NODE_START', n.status === 0 ? 1 : n.status));
        else onExit(n, `node ${n.plan.index} exited (${describeExit(code, signal)})`);
        if (stopping && running().length === 0) allExited();
      });
    });

  const restart = (n: Node): void => {
    n.restartTimer = null;
    if (stopping) return;
    start(n).then(
      (l) => logger.info(`node ${n.plan.index} is back: TCP ${l.tcp}, HTTP ${l.http}`),
      (err: Error) => onExit(n, err.message),
    );
  };

  /** A node that ended while it was meant to run: restarted, unless it keeps dying at once. */
  function onExit(n: Node, what: string): void {
    if (stopping) return;
    n.quickDeaths = Date.now() - n.startedAt < QUICK_DEATH_MS ? n.quickDeaths + 1 : 0;
    if (n.quickDeaths >= QUICK_DEATHS) {
      logger.error(`${what}, ${QUICK_DEATHS} times in a row within ${QUICK_DEATH_MS / 1000} s of its start: stopping every node`);
      failed = true;
      stopAll('SIGTERM');
      return;
    }
    const delay = RESTART_DELAY_MS * 2 ** n.quickDeaths;
    logger.error(`${what}: restarting it in ${delay} ms`);
    n.restartTimer = setTimeout(() => restart(n), delay);
  }

  const fail = async (err: unknown): Promise<never> => {
    stopAll('SIGTERM');
    await exited;
    throw err;
  };
  let addresses: NodeListening[];
  try {
    // node 0 first when it runs the lookupd the others register with
    const first = argv['with-lookupd'] === true ? [await start(nodes[0]!)] : [];
    addresses = [...first, ...(await Promise.all(nodes.slice(first.length).map((n) => start(n))))];
  } catch (err) {
    // stopped by a signal while starting: not a failed start
    if (signals > 0) addresses = [];
    else return fail(err);
  }
  if (!stopping) {
    for (const [i, a] of addresses.entries()) {
      process.stdout.write(`node ${i}: TCP ${a.tcp}, HTTP ${a.http}${a.https === null ? '' : `, HTTPS ${a.https}`}, data path ${nodes[i]!.plan.dataPath}\n`);
    }
  }
  await exited;
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  const worst = Math.max(...nodes.map((n) => n.status));
  process.exitCode = worst !== 0 ? worst : failed ? 1 : 0;
}
