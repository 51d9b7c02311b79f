// nsqlookupd's HTTP API: one route table, nsqlookupd 1.3's JSON shapes, status codes and
// `{"message": ...}` errors.

import { answerClientError, EMPTY, HttpError, MAX_HEADER_BYTES, parseQuery, send, sendError, type Result } from '../util/http-api.js';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { NSQ_VERSION } from '../protocol/constants.js';
import { isValidChannelName, isValidTopicName } from '../protocol/names.js';
import { ANY, CATEGORY_CHANNEL, CATEGORY_CLIENT, CATEGORY_TOPIC, filterActive, peerJson } from './registration-db.js';
import type { NSQLookupd } from './lookupd.js';




interface Ctx {
  lookupd: NSQLookupd;
  query: URLSearchParams;
}

interface Route {
  method: string;
  path: string;
  handler: (ctx: Ctx) => Result;
  /** plain text, without the V1 header (/ping) */
  plain?: boolean;
}

const ROUTES: Route[] = [
  { method: 'GET', path: '/ping', handler: () => 'OK', plain: true },
  { method: 'GET', path: '/info', handler: () => ({ version: NSQ_VERSION }) },
  { method: 'GET', path: '/debug', handler: debug },
  { method: 'GET', path: '/lookup', handler: lookup },
  { method: 'GET', path: '/topics', handler: topics },
  { method: 'GET', path: '/channels', handler: channels },
  { method: 'GET', path: '/nodes', handler: nodes },
  { method: 'POST', path: '/topic/create', handler: topicCreate },
  { method: 'POST', path: '/topic/delete', handler: topicDelete },
  { method: 'POST', path: '/channel/create', handler: channelCreate },
  { method: 'POST', path: '/channel/delete', handler: channelDelete },
  { method: 'POST', path: '/topic/tombstone', handler: topicTombstone },
];

export function createHttpServer(lookupd: NSQLookupd): Server {
  const server = createServer({ maxHeaderSize: MAX_HEADER_BYTES }, (req, res) => {
    const started = performance.now();
    // nsqlookupd reads and ignores request bodies
    req.resume();
    try {
      handle(lookupd, req, res);
    } catch (err) {
      // never let one request take the server down
      lookupd.logger.error(`HTTP: ${req.method} ${req.url}: ${err instanceof Error ? err.message : String(err)}`);
      if (!res.headersSent) sendError(res, new HttpError(500, 'INTERNAL_ERROR'), true);
      else res.destroy();
    }
    const ms = (performance.now() - started).toFixed(3);
    lookupd.logger.info(`${res.statusCode} ${req.method} ${req.url} (${req.socket.remoteAddress}:${req.socket.remotePort}) ${ms}ms`);
  });
  server.keepAliveTimeout = 5000;
  server.on('clientError', answerClientError);
  return server;
}

function handle(lookupd: NSQLookupd, req: IncomingMessage, res: ServerResponse): void {
  const rawUrl = req.url ?? '/';
  const q = rawUrl.indexOf('?');
  const path = q === -1 ? rawUrl : rawUrl.slice(0, q);
  const candidates = ROUTES.filter((r) => r.path === path);
  const route = candidates.find((r) => r.method === req.method);
  if (route === undefined) {
    if (candidates.length > 0) {
      res.setHeader('Allow', candidates.map((r) => r.method).join(', '));
      sendError(res, new HttpError(405, 'METHOD_NOT_ALLOWED'), true);
    } else {
      sendError(res, new HttpError(404, 'NOT_FOUND'), true);
    }
    return;
  }
  let result: Result;
  try {
    result = route.handler({ lookupd, query: parseQuery(q === -1 ? '' : rawUrl.slice(q + 1)) });
  } catch (err) {
    if (!(err instanceof HttpError)) throw err;
    sendError(res, err, !route.plain);
    return;
  }
  send(res, result, !route.plain);
}




// ---- arguments ----------------------------------------------------------------------------------

function topicArg(ctx: Ctx, validate: boolean): string {
  const topic = ctx.query.get('topic');
  if (topic === null) throw new HttpError(400, 'MISSING_ARG_TOPIC');
  if (validate && !isValidTopicName(topic)) throw new HttpError(400, 'INVALID_ARG_TOPIC');
  return topic;
}

function topicChannelArgs(ctx: Ctx): { topic: string; channel: string } {
  const topic = topicArg(ctx, true);
  const channel = ctx.query.get('channel');
  if (channel === null) throw new HttpError(400, 'MISSING_ARG_CHANNEL');
  if (!isValidChannelName(channel)) throw new HttpError(400, 'INVALID_ARG_CHANNEL');
  return { topic, channel };
}

// ---- handlers -----------------------------------------------------------------------------------
// Topic arguments of the read and delete routes are not validated, so "*" matches every topic there,
// as it does in nsqlookupd.

function topics(ctx: Ctx): Result {
  return { topics: ctx.lookupd.db.find(CATEGORY_TOPIC, ANY, '').map((r) => r.key) };
}

function channels(ctx: Ctx): Result {
  const topic = topicArg(ctx, false);
  return { channels: ctx.lookupd.db.find(CATEGORY_CHANNEL, topic, ANY).map((r) => r.subkey) };
}

function lookup(ctx: Ctx): Result {
  const topic = topicArg(ctx, false);
  const { db, options: o } = ctx.lookupd;
  if (db.find(CATEGORY_TOPIC, topic, '').length === 0) throw new HttpError(404, 'TOPIC_NOT_FOUND');
  const producers = filterActive(db.findProducers(CATEGORY_TOPIC, topic, ''), o.inactiveProducerTimeout, o.tombstoneLifetime);
  return {
    channels: db.find(CATEGORY_CHANNEL, topic, ANY).map((r) => r.subkey),
    producers: producers.map((p) => peerJson(p.peer)),
  };
}

function nodes(ctx: Ctx): Result {
  const { db, options: o } = ctx.lookupd;
  // tombstoned producers are listed (with their tombstones), inactive ones are not
  const peers = filterActive(db.findProducers(CATEGORY_CLIENT, '', ''), o.inactiveProducerTimeout, 0);
  const now = Date.now();
  return {
    producers: peers.map(({ peer }) => {
      const regs = db.lookupRegistrations(peer.id).filter((r) => r.category === CATEGORY_TOPIC);
      return {
        remote_address: peer.remoteAddress,
        hostname: peer.hostname,
        broadcast_address: peer.broadcastAddress,
        tcp_port: peer.tcpPort,
        http_port: peer.httpPort,
        version: peer.version,
        tombstones: regs.map((r) => r.producers.get(peer.id)?.isTombstoned(o.tombstoneLifetime, now) ?? false),
        topics: regs.map((r) => r.key),
      };
    }),
  };
}

function debug(ctx: Ctx): Result {
  const out: Record<string, object[]> = {};
  for (const r of ctx.lookupd.db.all()) {
    for (const p of r.producers.values()) {
      const key = `${r.category}:${r.key}:${r.subkey}`;
      (out[key] ??= []).push({
        id: p.peer.id,
        hostname: p.peer.hostname,
        broadcast_address: p.peer.broadcastAddress,
        tcp_port: p.peer.tcpPort,
        http_port: p.peer.httpPort,
        version: p.peer.version,
        // Go reports nanoseconds since the epoch
        last_update: p.peer.lastUpdate * 1e6,
        tombstoned: p.tombstoned,
        tombstoned_at: p.tombstonedAt * 1e6,
      });
    }
  }
  return out;
}

function topicCreate(ctx: Ctx): Result {
  const topic = topicArg(ctx, true);
  ctx.lookupd.logger.info(`DB: adding topic(${topic})`);
  ctx.lookupd.db.addRegistration(CATEGORY_TOPIC, topic, '');
  return EMPTY;
}

function topicDelete(ctx: Ctx): Result {
  const topic = topicArg(ctx, false);
  const { db, logger } = ctx.lookupd;
  for (const r of db.find(CATEGORY_CHANNEL, topic, ANY)) {
    logger.info(`DB: removing channel(${r.subkey}) from topic(${r.key})`);
    db.removeRegistration(r);
  }
  for (const r of db.find(CATEGORY_TOPIC, topic, '')) {
    logger.info(`DB: removing topic(${r.key})`);
    db.removeRegistration(r);
  }
  return EMPTY;
}

function topicTombstone(ctx: Ctx): Result {
  const topic = topicArg(ctx, false);
  const node = ctx.query.get('node');
  if (node === null) throw new HttpError(400, 'MISSING_ARG_NODE');
  const { db, logger } = ctx.lookupd;
  logger.info(`DB: setting tombstone for producer@${node} of topic(${topic})`);
  for (const p of db.findProducers(CATEGORY_TOPIC, topic, '')) {
    if (`${p.peer.broadcastAddress}:${p.peer.httpPort}` === node) p.tombstone();
  }
  return EMPTY;
}

function channelCreate(ctx: Ctx): Result {
  const { topic, channel } = topicChannelArgs(ctx);
  const { db, logger } = ctx.lookupd;
  logger.info(`DB: adding channel(${channel}) in topic(${topic})`);
  db.addRegistration(CATEGORY_CHANNEL, topic, channel);
  logger.info(`DB: adding topic(${topic})`);
  db.addRegistration(CATEGORY_TOPIC, topic, '');
  return EMPTY;
}

function channelDelete(ctx: Ctx): Result {
  const { topic, channel } = topicChannelArgs(ctx);
  const { db, logger } = ctx.lookupd;
  const regs = db.find(CATEGORY_CHANNEL, topic, channel);
  if (regs.length === 0) throw new HttpError(404, 'CHANNEL_NOT_FOUND');
  logger.info(`DB: removing channel(${channel}) from topic(${topic})`);
  for (const r of regs) db.removeRegistration(r);
  return EMPTY;
}
