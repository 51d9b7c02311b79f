// nsqd's HTTP API: one route table, nsqd's status codes and `{"message": ...}` errors.

import { answerClientError, EMPTY, HttpError, MAX_HEADER_BYTES, parseQuery, readBody, send, sendError, type Result } from '../util/http-api.js';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { hostname } from 'node:os';
import { NSQ_VERSION } from '../protocol/constants.js';
import { isEphemeral, isValidChannelName, isValidTopicName } from '../protocol/names.js';
import { isMaxAttempts } from './metadata.js';
import { parseDuration } from '../util/duration.js';
import { isLogLevel } from '../util/log.js';
import { configValue, CONFIG_KEYS } from './config.js';
import { checkMpubBody } from '../protocol/mpub.js';
import { collectStats, formatStatsText } from './stats.js';
import { prometheusText } from './metrics.js';
import type { NSQD } from './nsqd.js';
import { ReplicationUnconfirmed } from './replication-unconfirmed.js';
import type { Server as HttpsServer } from 'node:https';
import { TLS_REQUIRED } from './options.js';
import type { NsqdTls } from './tls.js';
import type { TLSSocket } from 'node:tls';
import type { Topic } from './topic.js';
import type { Channel } from './channel.js';
import { AuthCache, AuthQueryError, authHttpOptions, type AuthState } from './auth.js';
import { peerCommonName } from './tls.js';
import { PEEK_MAX, peekChannel, peekJson, peekText, peekTopic, type PeekCounts, type PeekEntry } from './peek.js';
import { parseReplayFrom, ReplayError } from './replay.js';
import { nowNanos } from './message.js';
import { messageIdToString } from '../protocol/message-id.js';




interface Ctx {
  nsqd: NSQD;
  req: IncomingMessage;
  query: URLSearchParams;
  path: string;
  params: Record<string, string>;
}

interface Route {
  methods: string[];
  path: string;
  handler: (ctx: Ctx) => Result | Promise<Result>;
  /** access-log the request (nsqd skips /pub and /mpub) */
  log: boolean;
  /** plain text, without the V1 headers (/ping) */
  plain?: boolean;
  /**
   * With --auth-http-api, what the bearer's grant must cover: `publish` on the topic, `topic` or
   * `channel` (both permissions on it; a topic's channels included), `all` (every topic and channel).
   * Unset: open to anyone (as every route is in nsqd).
   */
  auth?: 'publish' | 'topic' | 'channel' | 'all';
}

const ROUTES: Route[] = [
  { methods: ['GET'], path: '/ping', handler: ping, log: true, plain: true },
  { methods: ['GET'], path: '/info', handler: info, log: true },
  { methods: ['POST'], path: '/pub', handler: pub, log: false, auth: 'publish' },
  { methods: ['POST'], path: '/mpub', handler: mpub, log: false, auth: 'publish' },
  { methods: ['GET'], path: '/stats', handler: stats, log: true },
  { methods: ['GET'], path: '/metrics', handler: (ctx) => prometheusText(ctx.nsqd), log: false, plain: true },
  { methods: ['POST'], path: '/topic/create', handler: topicCreate, log: true, auth: 'topic' },
  { methods: ['POST'], path: '/topic/delete', handler: topicDelete, log: true, auth: 'topic' },
  { methods: ['POST'], path: '/topic/empty', handler: topicEmpty, log: true, auth: 'topic' },
  { methods: ['POST'], path: '/topic/pause', handler: topicPause, log: true, auth: 'topic' },
  { methods: ['POST'], path: '/topic/unpause', handler: topicPause, log: true, auth: 'topic' },
  { methods: ['POST'], path: '/topic/config', handler: topicConfig, log: true, auth: 'topic' },
  { methods: ['POST'], path: '/channel/create', handler: channelCreate, log: true, auth: 'channel' },
  { methods: ['POST'], path: '/channel/delete', handler: channelDelete, log: true, auth: 'channel' },
  { methods: ['POST'], path: '/channel/empty', handler: channelEmpty, log: true, auth: 'channel' },
  { methods: ['POST'], path: '/channel/pause', handler: channelPause, log: true, auth: 'channel' },
  { methods: ['POST'], path: '/channel/unpause', handler: channelPause, log: true, auth: 'channel' },
  { methods: ['POST'], path: '/channel/config', handler: channelConfig, log: true, auth: 'channel' },
  // bodies are what consuming gives: authorized as the routes acting on the same topic or channel (docs/peek.md)
  { methods: ['GET'], path: '/topic/peek', handler: topicPeek, log: true, auth: 'topic' },
  { methods: ['GET'], path: '/channel/peek', handler: channelPeek, log: true, auth: 'channel' },
  { methods: ['GET', 'PUT'], path: '/config/:opt', handler: config, log: true, auth: 'all' },
];

function match(route: Route, path: string): Record<string, string> | null {
  const want = route.path.split('/');
  const got = path.split('/');
  if (want.length !== got.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!;
    if (w.startsWith(':')) {
      if (got[i] === '') return null;
      params[w.slice(1)] = decodeURIComponent(got[i]!);
    } else if (w !== got[i]) {
      return null;
    }
  }
  return params;
}

/**
 * The HTTP API, or with `tls` the same routes over HTTPS (`https`: node:https, which the caller loads
 * only for an HTTPS listener). With --tls-required (not tcp-https) the
 * plain listener answers every request with nsqd's 403 TLS_REQUIRED.
 */
export function createHttpServer(nsqd: NSQD, tls: NsqdTls | null, https?: typeof import('node:https')): Server | HttpsServer {
  const o = nsqd.options;
  // --auth-http-api: bearer secrets' grants, shared by this listener's requests
  const authCache = o.authHttpApi
    ? new AuthCache(
        () => o.authHttpAddresses,
        () => authHttpOptions(o),
      )
    : null;
  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    if (tls === null && nsqd.options.tlsRequired === TLS_REQUIRED) {
      req.resume();
      const port = nsqd.httpsEndpoint?.port ?? 0;
      res.writeHead(403, { 'X-NSQ-Content-Type': 'nsq; version=1.0', 'Content-Type': 'application/json; charset=utf-8' });
      res.end(`{"message": "TLS_REQUIRED", "https_port": ${port}}`);
      return;
    }
    const started = performance.now();
    handle(nsqd, req, res, authCache).then(
      (status) => {
        if (status.log) {
          const ms = (performance.now() - started).toFixed(3);
          nsqd.logger.info(`${res.statusCode} ${req.method} ${req.url} (${req.socket.remoteAddress}:${req.socket.remotePort}) ${ms}ms`);
        }
      },
      (err: unknown) => {
        // never let one request take the server down
        nsqd.logger.error(`HTTP: ${req.method} ${req.url}: ${err instanceof Error ? err.message : String(err)}`);
        res.destroy();
      },
    );
  };
  if (tls !== null && https === undefined) throw new Error('an HTTPS listener needs node:https');
  const server = tls === null ? createServer({ maxHeaderSize: MAX_HEADER_BYTES }, listener) : https!.createServer({ ...tls.serverOptions, maxHeaderSize: MAX_HEADER_BYTES }, listener);
  if (tls !== null && tls.requireCert) {
    // --tls-client-auth-policy=require: a certificate must be presented, whoever signed it (the TLS
    // server itself only insists with require-verify)
    server.on('secureConnection', (socket: TLSSocket) => {
      if (Object.keys(socket.getPeerCertificate()).length === 0) socket.destroy();
    });
  }
  server.keepAliveTimeout = 5000;
  server.on('clientError', answerClientError);
  return server;
}

async function handle(nsqd: NSQD, req: IncomingMessage, res: ServerResponse, authCache: AuthCache | null): Promise<{ log: boolean }> {
  const rawUrl = req.url ?? '/';
  const q = rawUrl.indexOf('?');
  const path = q === -1 ? rawUrl : rawUrl.slice(0, q);
  let route: Route | undefined;
  let params: Record<string, string> | null = null;
  const allowed: string[] = [];
  try {
    for (const r of ROUTES) {
      const p = match(r, path);
      if (p === null) continue;
      allowed.push(...r.methods);
      if (r.methods.includes(req.method ?? '')) {
        route = r;
        params = p;
        break;
      }
    }
  } catch {
    sendError(res, new HttpError(400, 'INVALID_REQUEST'), true);
    return { log: true };
  }
  if (route === undefined) {
    if (allowed.length > 0) {
      res.setHeader('Allow', allowed.join(', '));
      sendError(res, new HttpError(405, 'METHOD_NOT_ALLOWED'), true);
    } else {
      sendError(res, new HttpError(404, 'NOT_FOUND'), true);
    }
    req.resume();
    return { log: true };
  }
  try {
    const query = parseQuery(q === -1 ? '' : rawUrl.slice(q + 1));
    const ctx: Ctx = { nsqd, req, query, path, params: params! };
    // before the body is read: a refused publisher does not get to upload it
    if (route.auth !== undefined && authCache !== null) checkGrant(ctx, route.auth, await bearerGrant(ctx, authCache));
    const result = await route.handler(ctx);
    send(res, result, !route.plain);
  } catch (err) {
    // a body we did not read must not be taken for the next request
    if (!req.complete && !res.headersSent) res.setHeader('Connection', 'close');
    if (err instanceof HttpError && err.status === 401 && !res.headersSent) res.setHeader('WWW-Authenticate', 'Bearer realm="nsqd"');
    if (err instanceof HttpError) {
      sendError(res, err, !route.plain);
    } else {
      nsqd.logger.error(`failure in ${path} - ${err instanceof Error ? err.message : String(err)}`);
      sendError(res, new HttpError(500, 'INTERNAL_ERROR'), !route.plain);
    }
    req.resume();
  }
  return { log: route.log };
}




// ---- --auth-http-api ------------------------------------------------------------------------------

/**
 * What the auth server grants the request's `Authorization: Bearer <secret>`, asked as for a TCP
 * client's AUTH (remote address, TLS, certificate name). 401 AUTH_REQUIRED without a bearer, 403
 * UNAUTHORIZED for a secret the auth server refuses or that grants nothing, 503 AUTH_FAILED when
 * no auth server answers usably (worth retrying; the reason is logged, never sent).
 */
async function bearerGrant(ctx: Ctx, cache: AuthCache): Promise<AuthState> {
  const m = /^Bearer +(\S+) *$/i.exec(ctx.req.headers.authorization ?? '');
  if (m === null) throw new HttpError(401, 'AUTH_REQUIRED');
  const socket = ctx.req.socket;
  const secure = 'encrypted' in socket && socket.encrypted === true;
  let state: AuthState;
  try {
    state = await cache.get({ remoteIp: socket.remoteAddress ?? '', tls: secure, commonName: secure ? peerCommonName(socket as TLSSocket) : '', secret: m[1]! });
  } catch (err) {
    ctx.nsqd.logger.warn(`HTTP: [${socket.remoteAddress}] ${ctx.req.method} ${ctx.path} AUTH failed ${(err as Error).message}`);
    if (err instanceof AuthQueryError && err.refused) throw new HttpError(403, 'UNAUTHORIZED');
    throw new HttpError(503, 'AUTH_FAILED');
  }
  if (state.authorizations.length === 0) throw new HttpError(403, 'UNAUTHORIZED');
  return state;
}

/**
 * The route's permission check (403 UNAUTHORIZED). A name the request lacks is left to the handler,
 * which refuses it (400 MISSING_ARG_*) before it does anything.
 */
function checkGrant(ctx: Ctx, need: NonNullable<Route['auth']>, state: AuthState): void {
  const topic = ctx.query.get('topic');
  let ok: boolean;
  if (need === 'all') {
    ok = state.allowsAll;
  } else if (topic === null) {
    return;
  } else if (need === 'publish') {
    ok = state.allows(topic, '');
  } else if (need === 'channel') {
    const channel = ctx.query.get('channel');
    if (channel === null) return;
    ok = state.allowsAdmin(topic, channel);
    // /channel/config sends messages into another topic: the bearer must be allowed to publish there
    const dead = ctx.query.get('dead_letter_topic');
    if (ok && dead !== null) ok = state.allows(dead, '');
  } else {
    // a topic route acts on the topic's channels too (delete, pause): each of them must be granted,
    // and the topic itself as a publish is (a channel pattern that matches "", such as .*)
    ok = state.allowsAdmin(topic, '');
    const t = ctx.nsqd.getExistingTopic(topic);
    if (ok && t !== undefined) for (const name of t.channels.keys()) if (!state.allowsAdmin(topic, name)) ok = false;
  }
  if (!ok) throw new HttpError(403, 'UNAUTHORIZED');
}

// ---- handlers -----------------------------------------------------------------------------------

function ping(ctx: Ctx): Result {
  const health = ctx.nsqd.pingHealth;
  if (health !== 'OK') throw new HttpError(500, health);
  return 'OK';
}

function info(ctx: Ctx): Result {
  const o = ctx.nsqd.options;
  return {
    version: NSQ_VERSION,
    broadcast_address: o.broadcastAddress,
    hostname: hostname(),
    http_port: ctx.nsqd.httpEndpoint.port,
    tcp_port: ctx.nsqd.tcpEndpoint.port,
    start_time: ctx.nsqd.startTime,
    max_heartbeat_interval: o.maxHeartbeatInterval * 1e6,
    max_output_buffer_size: o.maxOutputBufferSize,
    max_output_buffer_timeout: o.maxOutputBufferTimeout * 1e6,
    max_deflate_level: o.maxDeflateLevel,
  };
}

function topicArg(ctx: Ctx, validate: boolean, invalid = 'INVALID_TOPIC'): string {
  const topic = ctx.query.get('topic');
  if (topic === null) throw new HttpError(400, 'MISSING_ARG_TOPIC');
  if (validate && !isValidTopicName(topic)) throw new HttpError(400, invalid);
  return topic;
}

function existingTopic(ctx: Ctx, name: string): Topic {
  const t = ctx.nsqd.getExistingTopic(name);
  if (t === undefined) throw new HttpError(404, 'TOPIC_NOT_FOUND');
  return t;
}

/** Durable topics of a replicating node refuse publishes while too few replicas are in sync. */
function checkReplicated(ctx: Ctx, topic: string, code: string): void {
  const r = ctx.nsqd.replication;
  if (r === null || r.needed === 0 || !ctx.nsqd.isDurableTopic(topic)) return;
  const why = r.refusal();
  if (why !== null) throw new HttpError(503, code);
}

async function pub(ctx: Ctx): Promise<Result> {
  const o = ctx.nsqd.options;
  const body = await readBody(ctx.req, o.maxMsgSize, 'MSG_TOO_BIG');
  if (body.length === 0) throw new HttpError(400, 'MSG_EMPTY');
  checkReplicated(ctx, topicArg(ctx, true), 'PUB_FAILED');
  const topic = ctx.nsqd.getTopic(topicArg(ctx, true));
  const deferText = ctx.query.get('defer');
  if (deferText !== null) {
    if (!/^[+-]?\d+$/.test(deferText)) throw new HttpError(400, 'INVALID_DEFER');
    const ms = Number(deferText);
    if (ms < 0 || ms > o.maxReqTimeout) throw new HttpError(400, 'INVALID_DEFER');
    if (ms > 0) return await stored(ctx, topic, () => topic.publishDeferred(body, 0, body.length, ms));
  }
  return await stored(ctx, topic, () => topic.publish(body, 0, body.length));
}

async function mpub(ctx: Ctx): Promise<Result> {
  const o = ctx.nsqd.options;
  const declared = Number(ctx.req.headers['content-length'] ?? NaN);
  if (declared > o.maxBodySize) throw new HttpError(413, 'BODY_TOO_BIG');
  checkReplicated(ctx, topicArg(ctx, true), 'MPUB_FAILED');
  const topic = ctx.nsqd.getTopic(topicArg(ctx, true));
  const binaryParam = ctx.query.get('binary');
  let binary = false;
  if (binaryParam !== null) {
    binary = binaryParam !== 'false' && binaryParam !== '0';
    if (!['true', '1', 'false', '0'].includes(binaryParam)) ctx.nsqd.logger.warn(`deprecated value '${binaryParam}' used for /mpub binary param`);
  }
  const body = await readBody(ctx.req, o.maxBodySize, 'BODY_TOO_BIG');
  const ranges: number[] = [];
  if (binary) {
    const checked = checkMpubBody(body, 0, body.length, o.maxBodySize, o.maxMsgSize);
    // nsqd answers with the TCP error's code, E_ taken off
    if (typeof checked !== 'number') throw new HttpError(413, checked.kind === 'no-count' || checked.kind === 'count' ? 'BAD_BODY' : 'BAD_MESSAGE');
    const count = body.readInt32BE(0);
    for (let i = 0, pos = 4; i < count; i++) {
      const size = body.readInt32BE(pos);
      ranges.push(pos + 4, size);
      pos += 4 + size;
    }
  } else {
    let start = 0;
    while (start < body.length) {
      let nl = body.indexOf(10, start);
      if (nl === -1) nl = body.length;
      const len = nl - start;
      if (len > o.maxMsgSize) throw new HttpError(413, 'MSG_TOO_BIG');
      if (len > 0) ranges.push(start, len);
      start = nl + 1;
    }
  }
  return await stored(ctx, topic, () => {
    // one timestamp for the batch, as a TCP MPUB has
    const timestamp = nowNanos();
    for (let i = 0; i < ranges.length; i += 2) topic.publish(body, ranges[i]!, ranges[i + 1]!, timestamp);
  });
}

/**
 * Publishes (all or nothing), OK once what it wrote to disk queues is written out; nsqd answers
 * 503 EXITING when the disk refuses it.
 */
async function stored(ctx: Ctx, topic: Topic, publish: () => void): Promise<Result> {
  try {
    ctx.nsqd.publish(publish);
    // durable mode: answered once the turn's commit has fsynced the journal (shared by every publisher)
    if (ctx.nsqd.durability !== null) await ctx.nsqd.durability.committed(topic.name);
    else ctx.nsqd.flushDiskWrites();
  } catch (err) {
    // on this node's disk, not confirmed by its replicas: no answer (as after a crash), so it is retried
    if (err instanceof ReplicationUnconfirmed) ctx.req.socket.destroy();
    throw new HttpError(503, 'EXITING');
  }
  return 'OK';
}

function boolParam(ctx: Ctx, name: string): boolean {
  const v = ctx.query.get(name);
  return !(v === 'false' || v === '0');
}

function stats(ctx: Ctx): Result {
  const topic = ctx.query.get('topic') ?? undefined;
  const channel = ctx.query.get('channel') ?? undefined;
  const s = collectStats(ctx.nsqd, { topic, channel, includeClients: boolParam(ctx, 'include_clients'), includeMem: boolParam(ctx, 'include_mem') });
  return ctx.query.get('format') === 'json' ? s : formatStatsText(s);
}

/**
 * Durable mode: a change of topics or channels (and the IDs an empty drops) is on disk before the
 * answer, so a crash right after it cannot undo it.
 */
function recorded(ctx: Ctx): Result {
  try {
    ctx.nsqd.durability?.commit();
  } catch {
    throw new HttpError(500, 'INTERNAL_ERROR');
  }
  return EMPTY;
}

async function topicCreate(ctx: Ctx): Promise<Result> {
  const topic = ctx.nsqd.getTopic(topicArg(ctx, true));
  await ctx.nsqd.channelsAdopted(topic);
  return recorded(ctx);
}

function topicDelete(ctx: Ctx): Result {
  const name = topicArg(ctx, false);
  existingTopic(ctx, name);
  ctx.nsqd.deleteTopic(name);
  return recorded(ctx);
}

function topicEmpty(ctx: Ctx): Result {
  existingTopic(ctx, topicArg(ctx, true)).empty();
  return recorded(ctx);
}

function topicPause(ctx: Ctx): Result {
  const t = existingTopic(ctx, topicArg(ctx, false));
  if (ctx.path.includes('unpause')) t.unpause();
  else t.pause();
  return recorded(ctx);
}

/**
 * POST /topic/config: a durable topic's own retention limits (docs/retention.md); `retention` a Go
 * duration, `retention_size` bytes, 0 back to the server's; both optional, checked before anything
 * changes. Answers the limits in force.
 */
function topicConfig(ctx: Ctx): Result {
  const t = existingTopic(ctx, topicArg(ctx, true, 'INVALID_ARG_TOPIC'));
  // a plain topic keeps nothing once delivered: there is nothing for a limit to keep
  if (!t.durableMode) throw new HttpError(400, 'NOT_DURABLE');
  const retentionText = ctx.query.get('retention');
  const sizeText = ctx.query.get('retention_size');
  let retention = t.retention;
  if (retentionText !== null) {
    let ms: number;
    try {
      ms = parseDuration(retentionText);
    } catch {
      ms = -1;
    }
    if (!(ms >= 0) || !Number.isSafeInteger(Math.ceil(ms))) throw new HttpError(400, 'INVALID_ARG_RETENTION');
    // a part of a millisecond stays a limit, it does not turn into 0 (the server's)
    retention = ms === 0 ? null : Math.ceil(ms);
  }
  let size = t.retentionSize;
  if (sizeText !== null) {
    if (!/^\d{1,16}$/.test(sizeText) || !Number.isSafeInteger(Number(sizeText))) throw new HttpError(400, 'INVALID_ARG_RETENTION_SIZE');
    size = Number(sizeText) === 0 ? null : Number(sizeText);
  }
  t.retention = retention;
  t.retentionSize = size;
  ctx.nsqd.metadataChanged();
  recorded(ctx);
  const limits = t.retentionLimits;
  return { topic: t.name, retention_ms: limits.retention, retention_size: limits.retentionSize };
}

function channelArgs(ctx: Ctx): { topic: Topic; channelName: string } {
  const topicName = topicArg(ctx, true, 'INVALID_ARG_TOPIC');
  const channelName = ctx.query.get('channel');
  if (channelName === null) throw new HttpError(400, 'MISSING_ARG_CHANNEL');
  if (!isValidChannelName(channelName)) throw new HttpError(400, 'INVALID_ARG_CHANNEL');
  return { topic: existingTopic(ctx, topicName), channelName };
}

function existingChannel(ctx: Ctx): Channel {
  const { topic, channelName } = channelArgs(ctx);
  const ch = topic.getExistingChannel(channelName);
  if (ch === undefined) throw new HttpError(404, 'CHANNEL_NOT_FOUND');
  return ch;
}

function channelCreate(ctx: Ctx): Result {
  const { topic, channelName } = channelArgs(ctx);
  const fromText = ctx.query.get('from');
  if (fromText === null) {
    topic.getChannel(channelName);
    return recorded(ctx);
  }
  // a channel that starts at a point of the retained journal (docs/retention.md; not in nsqd)
  const from = parseReplayFrom(fromText);
  if (from === null) throw new HttpError(400, 'INVALID_ARG_FROM');
  let ch: Channel;
  try {
    ch = topic.createChannelFrom(channelName, from);
  } catch (err) {
    if (err instanceof ReplayError) throw new HttpError(400, err.code);
    throw err;
  }
  recorded(ctx);
  const limits = topic.retentionLimits;
  return { topic: topic.name, channel: ch.name, start_id: messageIdToString(ch.startId), catching_up: ch.replay !== null, retention_ms: limits.retention, retention_size: limits.retentionSize };
}

function channelDelete(ctx: Ctx): Result {
  const ch = existingChannel(ctx);
  ch.topic.deleteChannel(ch.name);
  return recorded(ctx);
}

function channelEmpty(ctx: Ctx): Result {
  existingChannel(ctx).empty();
  return recorded(ctx);
}

function channelPause(ctx: Ctx): Result {
  const ch = existingChannel(ctx);
  if (ctx.path.includes('unpause')) ch.unpause();
  else ch.pause();
  return recorded(ctx);
}

/**
 * POST /channel/config: the channel's dead-letter settings (docs/dead-letters.md) and whether it is
 * ordered (docs/ordered-channels.md); every parameter optional, all checked before anything
 * changes. Answers the settings in force.
 */
function channelConfig(ctx: Ctx): Result {
  const ch = existingChannel(ctx);
  const nsqd = ctx.nsqd;
  const maxText = ctx.query.get('max_attempts');
  let max = ch.maxAttempts;
  if (maxText !== null) {
    max = /^\d{1,5}$/.test(maxText) ? Number(maxText) : -1;
    if (!isMaxAttempts(max)) throw new HttpError(400, 'INVALID_ARG_MAX_ATTEMPTS');
  }
  const usable = (name: string): boolean => isValidTopicName(name) && !isEphemeral(name) && name !== ch.topic.name;
  const given = ctx.query.get('dead_letter_topic');
  if (given !== null && !usable(given)) throw new HttpError(400, 'INVALID_ARG_DEAD_LETTER_TOPIC');
  const orderedText = ctx.query.get('ordered');
  let ordered = ch.ordered;
  if (orderedText !== null) {
    if (orderedText === 'true' || orderedText === '1') ordered = true;
    else if (orderedText === 'false' || orderedText === '0') ordered = false;
    else throw new HttpError(400, 'INVALID_ARG_ORDERED');
  }
  const dead = given ?? ch.deadLetterTopic;
  const deadName = dead ?? `${ch.topic.name}.dead`;
  const effective = max ?? nsqd.options.maxAttempts;
  // a default <topic>.dead over 64 characters: only a problem while a limit is set
  if (effective > 0 && !usable(deadName)) throw new HttpError(400, 'INVALID_ARG_DEAD_LETTER_TOPIC');
  // a durable channel's move is one commit in the dead-letter topic's journal (docs/dead-letters.md)
  if (effective > 0 && nsqd.isDurableTopic(ch.topic.name) && !nsqd.isDurableTopic(deadName)) throw new HttpError(400, 'DEAD_LETTER_NOT_DURABLE');
  ch.maxAttempts = max;
  ch.deadLetterTopic = dead;
  ch.setOrdered(ordered);
  nsqd.metadataChanged();
  recorded(ctx);
  return { topic: ch.topic.name, channel: ch.name, max_attempts: ch.effectiveMaxAttempts, dead_letter_topic: ch.effectiveDeadLetterTopic, ordered: ch.ordered };
}

/** `n` of a peek: 1 to PEEK_MAX, 10 when not given. */
function peekCount(ctx: Ctx): number {
  const text = ctx.query.get('n');
  if (text === null) return 10;
  if (!/^\d+$/.test(text)) throw new HttpError(400, 'INVALID_N');
  const n = Number(text);
  if (n < 1 || n > PEEK_MAX) throw new HttpError(400, 'INVALID_N');
  return n;
}

function peekAnswer(ctx: Ctx, counts: PeekCounts, entries: PeekEntry[]): Result {
  return ctx.query.get('format') === 'text' ? peekText(entries) : peekJson(counts, entries);
}

function topicPeek(ctx: Ctx): Result {
  const t = existingTopic(ctx, topicArg(ctx, true, 'INVALID_ARG_TOPIC'));
  const n = peekCount(ctx);
  return peekAnswer(ctx, { topic: t.name, depth: t.depth, inFlightCount: 0, deferredCount: t.waitingDeferredCount }, peekTopic(t, n));
}

function channelPeek(ctx: Ctx): Result {
  const ch = existingChannel(ctx);
  const n = peekCount(ctx);
  return peekAnswer(ctx, { topic: ch.topic.name, channel: ch.name, depth: ch.depth, inFlightCount: ch.inFlightCount, deferredCount: ch.deferredCount }, peekChannel(ch, n));
}

async function config(ctx: Ctx): Promise<Result> {
  const opt = ctx.params['opt']!;
  const o = ctx.nsqd.options;
  if (ctx.req.method === 'PUT') {
    const body = await readBody(ctx.req, o.maxMsgSize, 'INVALID_VALUE');
    if (body.length === 0) throw new HttpError(413, 'INVALID_VALUE');
    const text = body.toString('utf8');
    if (opt === 'log_level') {
      const level = text.trim().toLowerCase();
      if (!isLogLevel(level)) throw new HttpError(400, 'INVALID_VALUE');
      o.logLevel = level;
      ctx.nsqd.logger.setLevel(level);
    } else if (opt === 'nsqlookupd_tcp_addresses') {
      let addrs: unknown;
      try {
        addrs = JSON.parse(text);
      } catch {
        throw new HttpError(400, 'INVALID_VALUE');
      }
      if (!Array.isArray(addrs) || !addrs.every((a) => typeof a === 'string')) throw new HttpError(400, 'INVALID_VALUE');
      o.nsqlookupdTcpAddresses = addrs as string[];
      ctx.nsqd.lookup.setAddresses(o.nsqlookupdTcpAddresses);
    } else {
      throw new HttpError(400, 'INVALID_OPTION');
    }
  }
  if (!CONFIG_KEYS.has(opt)) throw new HttpError(400, 'INVALID_OPTION');
  return configValue(o, opt);
}
