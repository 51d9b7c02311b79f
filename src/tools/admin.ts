// `nsq topic|channel create|delete|pause|unpause|empty`: one action on a topic or channel at one
// node, several, or every node lookupd knows, as nsqadmin does it; a line per node, and the
// confirmation that delete and empty need.

import { createInterface } from 'node:readline';
import { actOnNodes, adminPath, postAdmin, type AdminAction, type AdminTarget, type NodeResult } from '../client/admin.js';
import { httpAddressOf, lookupAllHttpNodes, lookupPublishNodes, lookupTopicProducers, lookupTopics } from '../client/discovery.js';
import { UserError } from '../util/errors.js';

export interface AdminOptions {
  action: AdminAction;
  topic: string;
  channel?: string;
  /** nodes named on the command line */
  nsqdHttpAddresses: string[];
  /** lookupds whose nodes are acted on too (and, for delete, whose registrations are removed) */
  lookupdHttpAddresses: string[];
  /** per request */
  timeoutMs: number;
  /** bearer for nodes started with --auth-http-api ('' : none); never sent to lookupd */
  authSecret: string;
  /** delete and empty without asking */
  yes: boolean;
}

export interface AdminIo {
  out: NodeJS.WritableStream;
  err: NodeJS.WritableStream;
  /** asks a yes/no question; null when there is nobody to ask (no terminal) */
  confirm: ((question: string) => Promise<boolean>) | null;
}

/** Actions that lose messages: they need --yes, or a yes at the terminal. */
export const DESTRUCTIVE: ReadonlySet<AdminAction> = new Set<AdminAction>(['delete', 'empty']);

const PAST: Record<AdminAction, string> = { create: 'created', delete: 'deleted', pause: 'paused', unpause: 'unpaused', empty: 'emptied' };

export const describeTarget = (t: AdminTarget): string => (t.channel === undefined ? `topic ${t.topic}` : `channel ${t.topic}/${t.channel}`);

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/** A question on stderr, answered on stdin; anything but y/yes (Ctrl-C, Ctrl-D included) is no. */
export function askAtTerminal(question: string): Promise<boolean> {
  return new Promise((resolve) => {
    const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
    let settled = false;
    const done = (yes: boolean): void => {
      if (settled) return;
      settled = true;
      rl.close();
      resolve(yes);
    };
    rl.on('SIGINT', () => {
      process.stderr.write('\n');
      done(false);
    });
    rl.on('close', () => done(false));
    rl.question(question, (answer) => done(/^y(es)?$/i.test(answer.trim())));
  });
}

export function terminalIo(): AdminIo {
  const tty = process.stdin.isTTY === true && process.stderr.isTTY === true;
  return { out: process.stdout, err: process.stderr, confirm: tty ? askAtTerminal : null };
}

/**
 * The nodes to act on: those named, and those the lookupds give. As nsqadmin: the topic's nodes;
 * for `topic create` every registered node; for `channel create` the topic's nodes, or every node
 * when none has the topic yet (runAdmin creates the topic there first).
 */
async function targetNodes(o: AdminOptions): Promise<string[]> {
  const nodes = [...o.nsqdHttpAddresses];
  const lookupds = o.lookupdHttpAddresses;
  if (lookupds.length === 0) return nodes;
  let found: string[];
  let registeredOnly = false;
  try {
    if (o.action === 'create' && o.channel === undefined) found = await lookupAllHttpNodes(lookupds, o.timeoutMs);
    else if (o.action === 'create') found = (await lookupPublishNodes(lookupds, o.topic, o.timeoutMs)).map(httpAddressOf);
    else found = (await lookupTopicProducers(lookupds, o.topic, o.timeoutMs)).map(httpAddressOf);
    // a registration without a node (nsqadmin's "create topic" makes those) can still be deleted;
    // for a channel, lookupd's own answer (404 when it has none) says whether it had one
    if (found.length === 0 && o.action === 'delete') registeredOnly = o.channel !== undefined || (await lookupTopics(lookupds, o.timeoutMs)).includes(o.topic);
  } catch (err) {
    throw new UserError(`no lookupd answered: ${err instanceof Error ? err.message : String(err)}`, 'E_UNREACHABLE', 1);
  }
  if (found.length === 0 && nodes.length === 0 && !registeredOnly) {
    const where = `lookupd ${lookupds.join(', ')}`;
    throw new UserError(o.action === 'create' ? `no nsqd is registered with ${where}` : `no nsqd has topic ${o.topic} (${where})`, 'E_NOT_FOUND', 1);
  }
  return [...new Set([...nodes, ...found])];
}

/**
 * Runs the action; returns the exit status: 0 when it was done on every node that has the topic or
 * channel (at least one), 1 when a node or lookupd failed, none had it, or the question was
 * answered no. Usage errors (a destructive action without --yes and nobody to ask) throw with
 * exit 2 before any request; no lookupd answering or no node found throw with exit 1.
 */
export async function runAdmin(o: AdminOptions, io: AdminIo = terminalIo()): Promise<number> {
  const target: AdminTarget = o.channel === undefined ? { topic: o.topic } : { topic: o.topic, channel: o.channel };
  const what = describeTarget(target);
  const ask = DESTRUCTIVE.has(o.action) && !o.yes;
  if (ask && io.confirm === null) throw new UserError(`refusing to ${o.action} ${what} without --yes (no terminal to ask)`, 'E_USAGE', 2);

  const nodes = await targetNodes(o);
  if (ask && !(await io.confirm!(`${o.action} ${what} on ${plural(nodes.length, 'node')}? [y/N] `))) {
    io.err.write(`nsq: nothing ${PAST[o.action]}\n`);
    return 1;
  }

  let done = 0;
  let failed = 0;
  const report = (kind: 'nsqd' | 'lookupd', r: NodeResult): void => {
    if (r.ok) {
      done++;
      io.out.write(`${kind} ${r.node}: ${kind === 'lookupd' ? `removed the registration of ${what}` : `${PAST[o.action]} ${what}`}\n`);
    } else if (r.status === 404) {
      // the node (or lookupd) has no such topic or channel: nothing to do there
      io.out.write(`${kind} ${r.node}: has no ${what} (${r.error})\n`);
    } else {
      failed++;
      io.err.write(`nsq: ${kind} ${r.node}: ${o.action} ${what} failed: ${r.error}\n`);
    }
  };

  // nsqadmin's order for delete: the registrations first, so consumers stop finding the nodes,
  // then the nodes (the node list was taken before)
  if (o.action === 'delete') {
    const path = adminPath('delete', target);
    for (const r of await Promise.all(o.lookupdHttpAddresses.map((l) => postAdmin(l, path, { timeoutMs: o.timeoutMs })))) report('lookupd', r);
  }
  const request = { timeoutMs: o.timeoutMs, authSecret: o.authSecret };
  // nsqd creates a channel only in a topic it has (404 TOPIC_NOT_FOUND): the topic first
  const results =
    o.action === 'create' && o.channel !== undefined
      ? await Promise.all(nodes.map(async (n) => {
          const t = await postAdmin(n, adminPath('create', { topic: o.topic }), request);
          return t.ok ? postAdmin(n, adminPath('create', target), request) : t;
        }))
      : await actOnNodes(nodes, o.action, target, request);
  for (const r of results) report('nsqd', r);

  if (failed > 0) return 1;
  if (done === 0) {
    io.err.write(`nsq: no node has ${what}\n`);
    return 1;
  }
  return 0;
}
