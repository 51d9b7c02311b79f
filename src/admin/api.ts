// nsqadmin 1.3's HTTP API (nsqadmin/http.go): the same routes, bodies and error codes, answered
// from the cluster at the time of the request (cluster.ts) in nsqadmin's shapes (shapes.ts). Plus
// /info and the dashboard's model (/api/model), which are ours. Routing and transport are server.ts's.

import { postAdmin, type NodeResult } from '../client/admin.js';
import { isValidChannelName, isValidTopicName } from '../protocol/names.js';
import { Cluster, Warnings, UpstreamError, producerHttpAddress, type NodeRef } from './cluster.js';
import { basicAuthUser, type AdminActionNotice } from './notify.js';
import { sumChannel, sumTopic, topicsOfNodes, type AdminTopic } from './shapes.js';

export interface ApiRequest {
  method: string;
  /** the path below --base-path, starting with / */
  path: string;
  query: URLSearchParams;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  remoteAddress: string;
  /** the URL the client asked for (for notifications) */
  url: string;
}

export interface ApiAnswer {
  status: number;
  /** JSON unless `text` is set */
  body: unknown;
  text?: boolean;
}

export interface ApiContext {
  cluster: Cluster;
  version: string;
  /** --admin-user and --acl-http-header: who may act ([]: everyone) */
  adminUsers: string[];
  aclHttpHeader: string;
  /** the hostname named in notifications' `via` */
  hostname: string;
  notify: ((n: AdminActionNotice) => void) | null;
  /** the dashboard's model for /api/model (null until the first poll answered) */
  model: () => Promise<unknown>;
  /** GET/PUT /config/:opt (server.ts checks the caller's address) */
  config: (opt: string, put: string | null) => ApiAnswer;
  /** after an action: poll now, so the page shows its effect */
  acted: () => void;
}

const err = (status: number, message: string): ApiAnswer => ({ status, body: { message } });
const ok = (body: Record<string, unknown>, partial: Warnings): ApiAnswer => ({ status: 200, body: { ...body, message: partial.message } });

type Handler = (ctx: ApiContext, req: ApiRequest, params: string[]) => Promise<ApiAnswer>;

interface Route {
  method: string;
  pattern: RegExp;
  handler: Handler;
  /** changes the cluster: needs an admin user when --admin-user is set */
  acts: boolean;
}

const SEG = '([^/]+)';
const ROUTES: Route[] = [
  { method: 'GET', pattern: /^\/ping$/, acts: false, handler: async () => ({ status: 200, body: 'OK', text: true }) },
  { method: 'GET', pattern: /^\/info$/, acts: false, handler: async (ctx) => ({ status: 200, body: { version: ctx.version } }) },
  { method: 'GET', pattern: /^\/api\/topics$/, acts: false, handler: topicsHandler },
  { method: 'GET', pattern: new RegExp(`^/api/topics/${SEG}$`), acts: false, handler: topicHandler },
  { method: 'GET', pattern: new RegExp(`^/api/topics/${SEG}/${SEG}$`), acts: false, handler: channelHandler },
  { method: 'GET', pattern: /^\/api\/nodes$/, acts: false, handler: nodesHandler },
  { method: 'GET', pattern: new RegExp(`^/api/nodes/${SEG}$`), acts: false, handler: nodeHandler },
  { method: 'GET', pattern: /^\/api\/counter$/, acts: false, handler: counterHandler },
  { method: 'GET', pattern: /^\/api\/model$/, acts: false, handler: async (ctx, req) => ({ status: 200, body: { ...((await ctx.model()) as object), can_act: mayAct(ctx, req) } }) },
  { method: 'POST', pattern: /^\/api\/topics$/, acts: true, handler: createHandler },
  { method: 'POST', pattern: new RegExp(`^/api/topics/${SEG}$`), acts: true, handler: (ctx, req, [t]) => actionHandler(ctx, req, t!, undefined) },
  { method: 'POST', pattern: new RegExp(`^/api/topics/${SEG}/${SEG}$`), acts: true, handler: (ctx, req, [t, c]) => actionHandler(ctx, req, t!, c) },
  { method: 'DELETE', pattern: new RegExp(`^/api/topics/${SEG}$`), acts: true, handler: (ctx, req, [t]) => deleteHandler(ctx, req, t!, undefined) },
  { method: 'DELETE', pattern: new RegExp(`^/api/topics/${SEG}/${SEG}$`), acts: true, handler: (ctx, req, [t, c]) => deleteHandler(ctx, req, t!, c) },
  { method: 'DELETE', pattern: new RegExp(`^/api/nodes/${SEG}$`), acts: true, handler: tombstoneHandler },
  { method: 'GET', pattern: new RegExp(`^/config/${SEG}$`), acts: false, handler: async (ctx, _req, [opt]) => ctx.config(opt!, null) },
  { method: 'PUT', pattern: new RegExp(`^/config/${SEG}$`), acts: true, handler: async (ctx, req, [opt]) => ctx.config(opt!, req.body) },
];

/** The answer to an API request, or null when no route has its path (the page's routes, or 404). */
export async function answerApi(ctx: ApiContext, req: ApiRequest): Promise<ApiAnswer | null> {
  let pathMatched = false;
  for (const route of ROUTES) {
    const m = route.pattern.exec(req.path);
    if (m === null) continue;
    pathMatched = true;
    if (route.method !== req.method) continue;
    if (route.acts && !mayAct(ctx, req)) return err(403, 'FORBIDDEN');
    let params: string[];
    try {
      params = m.slice(1).map((p) => decodeURIComponent(p));
    } catch {
      return err(400, 'INVALID_REQUEST');
    }
    try {
      return await route.handler(ctx, req, params);
    } catch (e) {
      if (e instanceof UpstreamError) return err(502, `UPSTREAM_ERROR: ${e.message}`);
      throw e;
    }
  }
  return pathMatched ? err(405, 'METHOD_NOT_ALLOWED') : null;
}

/** nsqadmin's isAuthorizedAdminRequest: everyone without --admin-user; else the ACL header must name one. */
export function mayAct(ctx: ApiContext, req: ApiRequest): boolean {
  if (ctx.adminUsers.length === 0) return true;
  const v = req.headers[ctx.aclHttpHeader.toLowerCase()];
  const user = Array.isArray(v) ? v[0] : v;
  return user !== undefined && ctx.adminUsers.includes(user);
}

// ---- reading ------------------------------------------------------------------------------------

async function topicsHandler(ctx: ApiContext, req: ApiRequest): Promise<ApiAnswer> {
  const partial = new Warnings();
  const topics = await ctx.cluster.topics(partial);
  if (req.query.get('inactive') !== 'true') return ok({ topics }, partial);
  // topics lookupd knows that no node produces any more, with their channels
  const inactive: Record<string, string[]> = {};
  if (ctx.cluster.usesLookupd) {
    for (const topic of topics) {
      const nodes = await ctx.cluster.topicNodes(topic, partial).catch(() => [] as NodeRef[]);
      if (nodes.length === 0) inactive[topic] = await ctx.cluster.lookupdChannels(topic, partial).catch(() => []);
    }
  }
  return ok({ topics: inactive }, partial);
}

/** The topic on every node that has it, per node (shapes.ts). */
async function topicPerNode(ctx: ApiContext, topic: string, partial: Warnings): Promise<AdminTopic[]> {
  const nodes = await ctx.cluster.topicNodes(topic, partial);
  const answers = await ctx.cluster.nodeStats(nodes.map((n) => n.address), partial, topic).catch((e: unknown) => {
    if (e instanceof UpstreamError) throw e;
    return [];
  });
  const hostnames = new Map(nodes.map((n) => [n.address, n.hostname]));
  return topicsOfNodes(answers, hostnames, Date.now()).get(topic) ?? [];
}

async function topicHandler(ctx: ApiContext, _req: ApiRequest, [topic]: string[]): Promise<ApiAnswer> {
  const partial = new Warnings();
  const perNode = await topicPerNode(ctx, topic!, partial);
  return ok({ ...sumTopic(perNode, topic!) }, partial);
}

async function channelHandler(ctx: ApiContext, _req: ApiRequest, [topic, channel]: string[]): Promise<ApiAnswer> {
  const partial = new Warnings();
  const perNode = (await topicPerNode(ctx, topic!, partial)).flatMap((t) => t.channels.filter((c) => c.channel_name === channel));
  // nsqadmin answers a channel no node has with its zero value; so do we, named
  return ok({ ...sumChannel(perNode, topic!, channel!) }, partial);
}

async function nodesHandler(ctx: ApiContext): Promise<ApiAnswer> {
  const partial = new Warnings();
  return ok({ nodes: await ctx.cluster.producers(partial) }, partial);
}

async function nodeHandler(ctx: ApiContext, _req: ApiRequest, [node]: string[]): Promise<ApiAnswer> {
  const partial = new Warnings();
  const producer = (await ctx.cluster.producers(partial)).find((p) => producerHttpAddress(p) === node);
  if (producer === undefined) return err(404, 'NODE_NOT_FOUND');
  const answers = await ctx.cluster.nodeStats([node!], new Warnings());
  const topics = [...topicsOfNodes(answers, new Map([[node!, producer.hostname]]), Date.now()).values()].flat();
  topics.sort((a, b) => (a.topic_name < b.topic_name ? -1 : 1));
  let totalClients = 0;
  let totalMessages = 0;
  for (const t of topics) {
    totalMessages += t.message_count;
    for (const c of t.channels) totalClients += c.clients.length;
  }
  return ok({ node, topics, total_messages: totalMessages, total_clients: totalClients }, partial);
}

async function counterHandler(ctx: ApiContext): Promise<ApiAnswer> {
  const partial = new Warnings();
  const producers = await ctx.cluster.producers(partial);
  const hostnames = new Map(producers.map((p) => [producerHttpAddress(p), p.hostname]));
  const answers = await ctx.cluster.nodeStats([...hostnames.keys()], partial).catch((e: unknown) => {
    if (e instanceof UpstreamError && hostnames.size === 0) return [];
    throw e;
  });
  const stats: Record<string, { node: string; topic_name: string; channel_name: string; message_count: number }> = {};
  for (const [topic, perNode] of topicsOfNodes(answers, hostnames, Date.now())) {
    for (const t of perNode) {
      for (const c of t.channels) {
        const key = `${topic}:${c.channel_name}:${t.node}`;
        const s = (stats[key] ??= { node: t.node, topic_name: topic, channel_name: c.channel_name, message_count: 0 });
        s.message_count += c.message_count;
      }
    }
  }
  return ok({ stats }, partial);
}

// ---- acting -------------------------------------------------------------------------------------

function parseBody(body: string): Record<string, unknown> | null {
  try {
    const v = JSON.parse(body) as unknown;
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function notice(ctx: ApiContext, req: ApiRequest, action: string, topic: string, channel?: string, node?: string): void {
  if (ctx.notify === null) return;
  const auth = req.headers['authorization'];
  const user = basicAuthUser(typeof auth === 'string' ? auth : undefined);
  const ua = req.headers['user-agent'];
  ctx.notify({
    action,
    topic,
    ...(channel === undefined || channel === '' ? {} : { channel }),
    ...(node === undefined ? {} : { node }),
    timestamp: Math.floor(Date.now() / 1000),
    ...(user === '' ? {} : { user }),
    remote_ip: req.remoteAddress,
    user_agent: typeof ua === 'string' ? ua : '',
    url: req.url,
    via: ctx.hostname,
  });
}

/**
 * POSTs `path` to every address; failures become warnings. A node or lookupd that does not have
 * the topic or channel (404) has nothing to do, so it is no failure. All failing (and at least one
 * asked): 502, as nsqadmin's non-partial error.
 */
async function postAll(addresses: readonly string[], path: string, what: string, partial: Warnings, timeoutMs: number): Promise<NodeResult[]> {
  const results = await Promise.all(addresses.map((a) => postAdmin(a, path, { timeoutMs })));
  const failed = results.filter((r) => !r.ok && r.status !== 404);
  for (const r of failed) partial.add(`${what} ${r.node}`, r.error ?? 'failed');
  if (failed.length > 0 && failed.length === results.length) throw new UpstreamError(partial.errors.join('; '));
  return results;
}

const q = (topic: string, channel?: string): string => {
  const p = new URLSearchParams({ topic });
  if (channel !== undefined) p.set('channel', channel);
  return p.toString();
};

function nameError(topic: unknown, channel: unknown): ApiAnswer | null {
  if (typeof topic !== 'string' || !isValidTopicName(topic)) return err(400, 'INVALID_TOPIC');
  if (channel !== undefined && channel !== '' && (typeof channel !== 'string' || !isValidChannelName(channel))) return err(400, 'INVALID_CHANNEL');
  return null;
}

async function createHandler(ctx: ApiContext, req: ApiRequest): Promise<ApiAnswer> {
  const body = parseBody(req.body);
  if (body === null) return err(400, 'INVALID_BODY');
  const bad = nameError(body['topic'], body['channel']);
  if (bad !== null) return bad;
  const topic = body['topic'] as string;
  const channel = typeof body['channel'] === 'string' && body['channel'] !== '' ? body['channel'] : undefined;
  const partial = new Warnings();
  const t = ctx.cluster.o.timeoutMs;
  if (ctx.cluster.usesLookupd) {
    // as nsqadmin: the registration on every lookupd, and the channel on each node that has the topic
    await postAll(ctx.cluster.o.lookupdHttpAddresses, `/topic/create?${q(topic)}`, 'lookupd', partial, t);
    if (channel !== undefined) {
      await postAll(ctx.cluster.o.lookupdHttpAddresses, `/channel/create?${q(topic, channel)}`, 'lookupd', partial, t);
      const nodes = await ctx.cluster.topicNodes(topic, partial);
      await postAll(nodes.map((n) => n.address), `/channel/create?${q(topic, channel)}`, 'nsqd', partial, t);
    }
  } else {
    // no lookupd to register with: create on each node given (nsqadmin does nothing here)
    await postAll(ctx.cluster.o.nsqdHttpAddresses, `/topic/create?${q(topic)}`, 'nsqd', partial, t);
    if (channel !== undefined) await postAll(ctx.cluster.o.nsqdHttpAddresses, `/channel/create?${q(topic, channel)}`, 'nsqd', partial, t);
  }
  notice(ctx, req, 'create_topic', topic);
  if (channel !== undefined) notice(ctx, req, 'create_channel', topic, channel);
  ctx.acted();
  return ok({}, partial);
}

async function actionHandler(ctx: ApiContext, req: ApiRequest, topic: string, channel: string | undefined): Promise<ApiAnswer> {
  const body = parseBody(req.body);
  if (body === null) return err(400, 'INVALID_BODY');
  const action = body['action'];
  if (action !== 'pause' && action !== 'unpause' && action !== 'empty') return err(400, 'INVALID_ACTION');
  const bad = nameError(topic, channel);
  if (bad !== null) return bad;
  const partial = new Warnings();
  const nodes = await ctx.cluster.topicNodes(topic, partial);
  await postAll(nodes.map((n) => n.address), `/${channel === undefined ? 'topic' : 'channel'}/${action}?${q(topic, channel)}`, 'nsqd', partial, ctx.cluster.o.timeoutMs);
  notice(ctx, req, `${action}_${channel === undefined ? 'topic' : 'channel'}`, topic, channel);
  ctx.acted();
  return ok({}, partial);
}

async function deleteHandler(ctx: ApiContext, req: ApiRequest, topic: string, channel: string | undefined): Promise<ApiAnswer> {
  const bad = nameError(topic, channel);
  if (bad !== null) return bad;
  const partial = new Warnings();
  const t = ctx.cluster.o.timeoutMs;
  const kind = channel === undefined ? 'topic' : 'channel';
  const nodes = await ctx.cluster.topicNodes(topic, partial);
  // the registrations first, so no consumer finds the nodes again through lookupd meanwhile
  if (ctx.cluster.usesLookupd) await postAll(ctx.cluster.o.lookupdHttpAddresses, `/${kind}/delete?${q(topic, channel)}`, 'lookupd', partial, t);
  await postAll(nodes.map((n) => n.address), `/${kind}/delete?${q(topic, channel)}`, 'nsqd', partial, t);
  notice(ctx, req, `delete_${kind}`, topic, channel);
  ctx.acted();
  return ok({}, partial);
}

async function tombstoneHandler(ctx: ApiContext, req: ApiRequest, [node]: string[]): Promise<ApiAnswer> {
  const body = parseBody(req.body);
  if (body === null) return err(400, 'INVALID_BODY');
  if (typeof body['topic'] !== 'string' || !isValidTopicName(body['topic'])) return err(400, 'INVALID_TOPIC');
  const topic = body['topic'];
  const partial = new Warnings();
  const producer = (await ctx.cluster.producers(partial)).find((p) => producerHttpAddress(p) === node);
  if (producer === undefined) return err(404, 'NODE_NOT_FOUND');
  const path = `/topic/tombstone?${new URLSearchParams({ topic, node: producerHttpAddress(producer) })}`;
  await postAll(ctx.cluster.o.lookupdHttpAddresses, path, 'lookupd', partial, ctx.cluster.o.timeoutMs);
  notice(ctx, req, 'tombstone_topic_producer', topic, undefined, node);
  ctx.acted();
  return ok({}, partial);
}
