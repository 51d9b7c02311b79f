// The engine: owns the options, topics and connected clients, the one queue-scan loop
// (message timeouts, deferred messages, heartbeats) and the listeners' lifecycle.

import type { Server as NetServer } from 'node:net';
import type { Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import { RESPONSE_HEARTBEAT } from '../protocol/constants.js';
import { Logger } from '../util/log.js';
import { UserError } from '../util/errors.js';
import { STATE_CLOSING, STATE_SUBSCRIBED, type Client } from './client.js';
import { BodyStore } from './body-store.js';
import type { DiskQueue } from './disk-queue.js';
import type { Backlog } from './backlog.js';
import type { Channel } from './channel.js';
import { GuidFactory } from './guid.js';
import { defaultOptions, type NsqdOptions } from './options.js';
import { Topic } from './topic.js';
import { guardAccepts } from './accept-guard.js';
import { formatHostPort, listen, listenBoth, splitHostPort, type HostPort } from './listen.js';
import { buildReplicaTls, buildTls, type NsqdTls } from './tls.js';
import type { ClientTls } from '../client/connection.js';
import { Lookup } from './lookup.js';
import { isValidChannelName } from '../protocol/names.js';
import { lockDataPath, readMetadata, writeMetadata, type ChannelMeta, type TopicMeta } from './metadata.js';
import { resolve } from 'node:path';
import { hostname } from 'node:os';
import { createTcpServer } from './tcp-server.js';
import { createHttpServer } from './http-server.js';
import { Durability, recover, removeOrphans } from './durable.js';
import { closeListing, openListing } from './data-dir.js';
import type { Replication } from './replication.js';

/** `orders.*` → /^orders\..*$/: `*` matches any run of characters, the rest is literal */
function globToRegExp(glob: string): RegExp {
  return new RegExp(`^${glob.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
}

/** how soon a refused nsqd.dat write is tried again */
const METADATA_RETRY_MS = 1000;

/** how often durable mode deletes journal segments every channel is done with */
const COMPACT_INTERVAL_MS = 2000;
/** bench/: NSQD_SCAN_TIMING=<ms> logs every <ms> how long the scan loop's passes took (see #timedScan); unset: off */
const SCAN_TIMING_REPORT_MS = Number(process.env['NSQD_SCAN_TIMING'] ?? 0) || 0;

export interface Endpoint {
  host: string;
  port: number;
}

export class NSQD {
  readonly options: NsqdOptions;
  readonly logger: Logger;
  readonly guid = new GuidFactory();
  /** received message bodies are copied here once, out of the socket's read buffers */
  readonly bodies = new BodyStore();
  readonly topics = new Map<string, Topic>();
  /**
   * The channels the scan loop visits: those with in-flight or deferred messages (a channel adds
   * itself when it delivers or defers, and leaves after a pass that finds nothing left), so a pass
   * costs what is in flight, not how many topics and channels exist.
   */
  readonly scanning = new Set<Channel>();
  readonly clients = new Map<number, Client>();
  /** process start, seconds since the epoch */
  readonly startTime = Math.floor(Date.now() / 1000);
  /** registration with the lookupds of --lookupd-tcp-address */
  readonly lookup = new Lookup(this);
  /** "OK", or "NOK - <error>" after a storage failure */
  health = 'OK';
  /** a returning replicated node delivers nothing until its replicas said what they took over */
  #deliveryHeld = false;

  get deliveryHeld(): boolean {
    return this.#deliveryHeld;
  }

  /** Holds or releases every channel's delivery (releasing pumps them). */
  holdDelivery(hold: boolean): void {
    if (this.#deliveryHeld === hold) return;
    this.#deliveryHeld = hold;
    if (hold) return;
    for (const t of this.topics.values()) t.restored();
  }
  /** --durable: journals, ack logs and the group commit; null in plain mode */
  readonly durability: Durability | null;
  /**
   * a durable node's replication: links to its replicas, sessions of the origins it copies
   * (docs/replication.md); made in start(), which loads it only for a durable node
   */
  replication: Replication | null = null;
  /** the certificate and client policy (null: no --tls-cert, clients cannot ask for TLS) */
  tls: NsqdTls | null = null;
  /** what the links to --replica-address present and trust (null: plain links) */
  replicaTls: ClientTls | null = null;

  #nextClientId = 1;
  #dirty: Client[] = [];
  #flushScheduled = false;
  #scanTimer: NodeJS.Timeout | null = null;
  #tcp: NetServer | null = null;
  #http: HttpServer | null = null;
  #https: HttpsServer | null = null;
  #httpsEndpoint: Endpoint | null = null;
  #tcpEndpoint: Endpoint | null = null;
  #httpEndpoint: Endpoint | null = null;
  #stopping: Promise<void> | null = null;
  #unlock: (() => void) | null = null;
  #statsd: { close(): void } | null = null;
  #loading = false;
  #metadataScheduled = false;
  /** nsqd.dat could not be written: retried once a second */
  #metadataFailing = false;
  #lastCompact = 0;

  constructor(options: Partial<NsqdOptions> = {}, logger?: Logger) {
    this.options = { ...defaultOptions(), ...options };
    this.logger = logger ?? new Logger(this.options.logLevel, this.options.logPrefix);
    if (logger === undefined) this.logger.setFormat(this.options.logFormat);
    this.durability = this.options.durable || this.options.durableTopics.length > 0 ? new Durability(this) : null;
    this.#durableTopics = this.options.durableTopics.map(globToRegExp);
    this.#orderedChannels = this.options.orderedChannels.map((p) => {
      const slash = p.indexOf('/');
      return [globToRegExp(p.slice(0, slash)), globToRegExp(p.slice(slash + 1))] as const;
    });
  }

  readonly #durableTopics: RegExp[];
  readonly #orderedChannels: (readonly [RegExp, RegExp])[];

  /** --ordered-channel: whether a new channel of this name is ordered (docs/ordered-channels.md) */
  orderedByDefault(topic: string, channel: string): boolean {
    for (const [t, c] of this.#orderedChannels) if (t.test(topic) && c.test(channel)) return true;
    return false;
  }

  /** Whether a topic of this name is journaled: --durable, or it matches a --durable-topic pattern. */
  isDurableTopic(name: string): boolean {
    if (this.durability === null || name.endsWith('#ephemeral')) return false;
    return this.options.durable || this.#durableTopics.some((re) => re.test(name));
  }

  /** True while start() rebuilds topics and channels from nsqd.dat and the journals. */
  get restoring(): boolean {
    return this.#loading;
  }

  /** how often the scan loop runs (in-flight and deferred timeouts, replication's failover clock) */
  get scanIntervalMs(): number {
    return Math.max(10, Math.min(this.options.queueScanInterval, 1000));
  }

  /** where topics and channels keep their disk queues and nsqd.dat (default: the current folder) */
  get dataPath(): string {
    return resolve(this.options.dataPath || process.cwd());
  }

  /**
   * Locks the data path, restores the topics and channels it records, binds the TCP and HTTP
   * listeners (port 0 picks free ports) and starts the scan loop.
   */
  async start(): Promise<void> {
    const o = this.options;
    // configuration errors come before anything is logged
    this.tls = buildTls(o);
    if (o.replicaAddresses.length > 0) this.replicaTls = buildReplicaTls(o);
    if (o.authHttpApi && o.authHttpAddresses.length === 0) throw new UserError('cannot authorize the HTTP API (--auth-http-api) without --auth-http-address', 'E_AUTH_CONFIG', 1);
    if ((o.retention > 0 || o.retentionSize > 0) && this.durability === null) throw new UserError('--retention and --retention-size need --durable or --durable-topic: only a journal can be kept', 'E_BAD_OPTIONS', 2);
    if (o.replicationFactor > 1 && this.durability === null) throw new UserError('--replication-factor above 1 needs --durable or --durable-topic: only durable topics are replicated', 'E_BAD_OPTIONS', 2);
    if (o.maxAttempts < 0 || o.maxAttempts > 65535) throw new UserError(`--max-attempts=${o.maxAttempts} must be between 0 and 65535`, 'E_BAD_OPTIONS', 2);
    // a durable channel's move is one record in a durable dead-letter topic's journal (docs/dead-letters.md)
    if (o.maxAttempts > 0 && this.durability !== null && !o.durable) {
      for (const p of o.durableTopics) {
        const sample = p.replace(/[*?]/g, 'x');
        if (!this.isDurableTopic(`${sample}.dead`)) throw new UserError(`--max-attempts with --durable-topic=${p}: the dead-letter topic ${p}.dead of its topics is not durable, so a message cannot move under one commit; add --durable-topic=${p}.dead`, 'E_BAD_OPTIONS', 2);
      }
    }
    if (o.replicaAddresses.length > 0 && this.durability === null) throw new UserError('--replica-address needs --durable or --durable-topic: only durable topics are replicated', 'E_BAD_OPTIONS', 2);
    if (o.replicationFactor - 1 > o.replicaAddresses.length) {
      throw new UserError(`--replication-factor=${o.replicationFactor} needs at least ${o.replicationFactor - 1} --replica-address (${o.replicaAddresses.length} given)`, 'E_BAD_OPTIONS', 2);
    }
    if (this.durability !== null && this.replication === null) this.replication = new (await import('./replication.js')).Replication(this);
    this.logger.info(`ID: ${o.nodeId}`);
    const tcpAddr = splitHostPort(o.tcpAddress, '--tcp-address');
    const httpAddr = splitHostPort(o.httpAddress, '--http-address');
    const httpsAddr = this.tls !== null && o.httpsAddress !== '' ? splitHostPort(o.httpsAddress, '--https-address') : null;
    if (o.broadcastAddress === '') {
      // what lookupd hands to consumers must be reachable: a loopback-only node says so
      o.broadcastAddress = /^127\.|^::1$|^localhost$/.test(tcpAddr.host) ? '127.0.0.1' : hostname();
    }
    this.#unlock = lockDataPath(this.dataPath);
    try {
      const meta = readMetadata(this.dataPath);
      openListing(this.dataPath);
      try {
        removeOrphans(this, meta);
        this.#load(meta);
      } finally {
        closeListing();
      }
      if (this.options.durable) this.logger.info('NSQ: durable mode: publishes are answered once fsynced');
      else if (this.durability !== null) this.logger.info(`NSQ: durable topics (${this.options.durableTopics.join(', ')}): their publishes are answered once fsynced`);
      await this.#listen(tcpAddr, httpAddr, httpsAddr);
    } catch (err) {
      for (const topic of this.topics.values()) topic.persist();
      this.durability?.close();
      this.topics.clear();
      this.#unlock();
      this.#unlock = null;
      throw err;
    }
    this.replication?.start();
    this.#scanTimer = setInterval(SCAN_TIMING_REPORT_MS > 0 ? this.#timedScan() : this.#scan, this.scanIntervalMs);
    this.lookup.setAddresses(o.nsqlookupdTcpAddresses);
    if (o.statsdAddress !== '') {
      const { StatsdPusher } = await import('./statsd.js');
      this.#statsd = new StatsdPusher(this);
    }
  }

  #load(meta: TopicMeta[]): void {
    this.#loading = true;
    try {
      for (const t of meta) {
        if (t.name.endsWith('#ephemeral')) continue;
        const topic = this.getTopic(t.name);
        for (const c of t.channels) {
          if (c.name.endsWith('#ephemeral')) continue;
          const ch = topic.getChannel(c.name);
          ch.startId = c.start_id ?? 0;
          if (c.max_attempts !== undefined) ch.maxAttempts = c.max_attempts;
          if (c.dead_letter_topic !== undefined) ch.deadLetterTopic = c.dead_letter_topic;
          if (c.ordered !== undefined) ch.setOrdered(c.ordered);
          if (c.paused) ch.pause();
        }
        if (t.paused) topic.pause();
        topic.heldFrom = t.held_from ?? 0;
        if (topic.durableMode) {
          topic.retention = t.retention ?? null;
          topic.retentionSize = t.retention_size ?? null;
        }
        if (t.dead_letters === true) topic.deadLetters = true;
      }
      recover(this, meta);
    } finally {
      this.#loading = false;
    }
    if (meta.length > 0) this.logger.info(`NSQ: restored ${meta.length} topic(s) from ${this.dataPath}`);
  }

  /** Topics or channels were created, deleted, paused or unpaused: rewrite nsqd.dat (once per turn). */
  metadataChanged(): void {
    if (this.#loading || this.#unlock === null) return;
    if (this.durability !== null) {
      // written in the turn's commit, before any publish that depends on it is answered
      this.durability.metadataChanged();
      return;
    }
    if (this.#metadataScheduled) return;
    this.#metadataScheduled = true;
    setImmediate(() => {
      this.#metadataScheduled = false;
      this.#writeMetadata();
    });
  }

  #writeMetadata(): void {
    try {
      this.writeMetadataNow();
    } catch (err) {
      this.logger.error(`NSQ: failed to persist metadata - ${(err as Error).message}`);
      this.health = `NOK - ${(err as Error).message}`;
      // a topic missing from nsqd.dat would not come back at the next start: keep trying
      if (!this.#metadataFailing && this.#unlock !== null && this.#stopping === null) {
        setTimeout(() => {
          this.#metadataFailing = false;
          if (this.#unlock !== null && this.#stopping === null) this.#writeMetadata();
        }, METADATA_RETRY_MS).unref();
      }
      this.#metadataFailing = true;
      return;
    }
    this.#metadataFailing = false;
    this.#checkHealth();
  }

  /** Writes nsqd.dat now; throws when it cannot. */
  writeMetadataNow(): void {
    const topics: TopicMeta[] = [];
    for (const t of this.topics.values()) {
      if (t.ephemeral) continue;
      // start_id only matters to durable recovery; plain mode writes exactly nsqd's file
      const durable = this.durability !== null;
      const channels = [...t.channels.values()].filter((c) => !c.ephemeral).map((c) => deadLetterMeta(c, durable ? { name: c.name, paused: c.paused, start_id: c.startId } : { name: c.name, paused: c.paused }));
      const meta: TopicMeta = durable && t.holding ? { name: t.name, paused: t.paused, channels, held_from: t.heldFrom } : { name: t.name, paused: t.paused, channels };
      if (durable && t.deadLetters) meta.dead_letters = true;
      topics.push(retentionMeta(t, meta));
    }
    writeMetadata(this.dataPath, topics);
    this.replication?.metaChanged();
  }

  /** The durable topics and channels as replicas keep them (meta.json): nsqd.dat's fields for durable recovery. */
  durableMetadata(): { topics: TopicMeta[] } {
    const topics: TopicMeta[] = [];
    for (const t of this.topics.values()) {
      if (!t.durable) continue;
      // an ordered channel stays ordered on a replica that takes it over, and a normal one normal,
      // whatever the replica's --ordered-channel says (docs/ordered-channels.md)
      const channels = [...t.channels.values()].filter((c) => !c.ephemeral).map((c): ChannelMeta => ({ name: c.name, paused: c.paused, start_id: c.startId, ordered: c.ordered }));
      const meta: TopicMeta = t.holding ? { name: t.name, paused: t.paused, channels, held_from: t.heldFrom } : { name: t.name, paused: t.paused, channels };
      // a replica's takeover reads this copy's moves as the node's own start does
      if (t.deadLetters) meta.dead_letters = true;
      topics.push(meta);
    }
    return { topics };
  }

  /** What /ping answers: a storage failure, or too few in-sync replicas (unless degraded publishes are accepted). */
  get pingHealth(): string {
    if (this.health !== 'OK') return this.health;
    const why = this.replication?.refusal() ?? null;
    return why === null ? 'OK' : `NOK - ${why}`;
  }

  async #listen(tcpAddr: HostPort, httpAddr: HostPort, httpsAddr: HostPort | null): Promise<void> {
    this.#tcp = createTcpServer(this);
    this.#http = createHttpServer(this, null);
    const bound = await listenBoth(this.#tcp, tcpAddr, this.#http, httpAddr, this.logger);
    this.#tcpEndpoint = bound.tcp;
    this.#httpEndpoint = bound.http;
    if (httpsAddr !== null) {
      // node:https only for a node that serves HTTPS
      const https = createHttpServer(this, this.tls!, await import('node:https')) as HttpsServer;
      guardAccepts(https, 'HTTPS', this.logger);
      try {
        this.#httpsEndpoint = await listen(https, httpsAddr);
      } catch (err) {
        this.#tcp.close();
        this.#http.close();
        throw err;
      }
      this.#https = https;
      this.logger.info(`HTTPS: listening on ${formatHostPort(this.#httpsEndpoint)}`);
    }
  }

  /** The HTTPS listener's address (null: no certificate or no --https-address). */
  get httpsEndpoint(): Endpoint | null {
    return this.#httpsEndpoint;
  }

  get tcpEndpoint(): Endpoint {
    if (this.#tcpEndpoint === null) throw new Error('nsqd is not listening');
    return this.#tcpEndpoint;
  }

  get httpEndpoint(): Endpoint {
    if (this.#httpEndpoint === null) throw new Error('nsqd is not listening');
    return this.#httpEndpoint;
  }

  // ---- topics ---------------------------------------------------------------------------------

  getTopic(name: string): Topic {
    let t = this.topics.get(name);
    if (t === undefined) {
      t = new Topic(this, name);
      this.topics.set(name, t);
      this.logger.info(`TOPIC(${name}): created`);
      this.metadataChanged();
      this.lookup.topicCreated(name);
      if (!this.#loading && !t.ephemeral) this.#adoptChannels(t);
    }
    return t;
  }

  #adoptChannels(t: Topic): void {
    const adopted = this.lookup.channelsFor(t.name).then((names) => {
      this.#adopting.delete(t);
      if (t.deleted || this.topics.get(t.name) !== t) return;
      for (const c of names) {
        if (!isValidChannelName(c) || t.getExistingChannel(c) !== undefined) continue;
        t.getChannel(c);
      }
    });
    if (this.lookup.asksForChannels) this.#adopting.set(t, adopted);
  }

  /** New topics still asking lookupd for their channels, and when each has them. */
  readonly #adopting = new Map<Topic, Promise<void>>();

  /**
   * Resolves once `t` has the channels lookupd knew for it when it was created. nsqd's /topic/create
   * answers only then (its GetTopic asks lookupd before returning), so a channel created on another
   * node after that answer is not copied here.
   */
  channelsAdopted(t: Topic): Promise<void> {
    return this.#adopting.get(t) ?? Promise.resolve();
  }

  getExistingTopic(name: string): Topic | undefined {
    return this.topics.get(name);
  }

  deleteTopic(name: string): boolean {
    const t = this.topics.get(name);
    if (t === undefined) return false;
    this.topics.delete(name);
    t.close();
    this.logger.info(`TOPIC(${name}): deleting`);
    this.metadataChanged();
    this.lookup.topicDeleted(name);
    return true;
  }

  // ---- publishing and disk health --------------------------------------------------------------

  #dirtyDisks = new Set<DiskQueue>();
  /** disk queues holding records the disk refused (retried by each queue once a second) */
  #failingDisks = new Set<DiskQueue>();
  /** the backlogs a publish in progress added to; null outside a publish */
  #publishing: Backlog[] | null = null;
  #touched: Backlog[] = [];
  /** channels whose delivery waits for the publish in progress to end */
  #toPump: Channel[] = [];
  /** messages the disk refused at the last stop (they were lost with the process) */
  lostAtStop = 0;

  /** The backlogs touched by the publish in progress (Backlog.push registers itself); null outside one. */
  get publishing(): Backlog[] | null {
    return this.#publishing;
  }

  /**
   * Runs one publish command (PUB, MPUB, DPUB, HTTP /pub, /mpub) as a unit: what it added to
   * memory and disk queues is delivered only once the whole command succeeded, and taken back
   * when it throws (a disk queue the disk refuses, say), so a publish answered with an error is
   * never delivered later.
   */
  publish(fn: () => void): void {
    if (this.#publishing !== null) return fn();
    // reused: a publish is the hottest path, so no allocation per command
    const touched = this.#touched;
    this.#publishing = touched;
    let failure: unknown = null;
    try {
      fn();
      for (let i = 0; i < touched.length; i++) touched[i]!.writePublished();
    } catch (err) {
      failure = err;
    }
    this.#publishing = null;
    for (let i = 0; i < touched.length; i++) touched[i]!.endPublish(failure === null);
    // emptied by pop: setting length is a runtime call, this is the hottest path
    while (touched.length > 0) touched.pop();
    const pump = this.#toPump;
    for (let i = 0; i < pump.length; i++) {
      pump[i]!.pumpQueued = false;
      pump[i]!.pump();
    }
    while (pump.length > 0) pump.pop();
    if (failure !== null) throw failure;
  }

  /** A channel's delivery during a publish: after it (Channel.pump). */
  pumpAfterPublish(ch: Channel): void {
    ch.pumpQueued = true;
    this.#toPump.push(ch);
  }

  diskDirty(q: DiskQueue): void {
    this.#dirtyDisks.add(q);
  }

  /** A disk write failed: /ping says so until every refused write succeeded again. */
  diskFailed(name: string, err: Error): void {
    this.health = `NOK - ${err.message}`;
    this.logger.error(`DISKQUEUE(${name}) failed to write - ${err.message}`);
  }

  /** A disk queue's write was refused: it holds the records and retries (diskRecovered when done). */
  diskQueueFailed(q: DiskQueue, err: Error): void {
    this.#failingDisks.add(q);
    this.diskFailed(q.name, err);
  }

  /** A failing disk queue's retry wrote everything it held. */
  diskRecovered(q: DiskQueue): void {
    this.#failingDisks.delete(q);
    this.logger.info(`DISKQUEUE(${q.name}) writes succeed again`);
    this.#checkHealth();
  }

  /** Durable mode's commit wrote everything again (or its probe did). */
  durableRecovered(): void {
    this.#checkHealth();
  }

  #checkHealth(): void {
    if (this.health === 'OK') return;
    for (const q of this.#failingDisks) if (q.failing !== null) return;
    this.#failingDisks.clear();
    if (this.#metadataFailing || this.durability?.failing === true) return;
    this.health = 'OK';
  }

  /**
   * Writes out what publishes put into disk queues, before they are acknowledged. What the disk
   * refuses stays buffered (those publishes were accepted, as nsqd accepts what its disk queue
   * took) and is retried; later publishes into that queue are refused until it is written.
   */
  flushDiskWrites(): void {
    if (this.#dirtyDisks.size === 0) return;
    const queues = [...this.#dirtyDisks];
    this.#dirtyDisks.clear();
    for (const q of queues) q.flush();
  }

  // ---- clients --------------------------------------------------------------------------------

  nextClientId(): number {
    return this.#nextClientId++;
  }

  addClient(client: Client): void {
    this.clients.set(client.id, client);
  }

  removeClient(client: Client): void {
    this.clients.delete(client.id);
    this.leaveChannel(client);
  }

  /** The client stops consuming now: its in-flight messages go back to the channel for others. */
  leaveChannel(client: Client): void {
    client.state = STATE_CLOSING;
    const ch = client.channel;
    client.channel = null;
    if (ch !== null && !ch.deleted) ch.removeClient(client);
  }

  /** Clients with buffered output are written out together once this event-loop turn ends. */
  scheduleFlush(client: Client): void {
    this.#dirty.push(client);
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      setImmediate(this.#flushAll);
    }
  }

  #flushAll = (): void => {
    this.#flushScheduled = false;
    const dirty = this.#dirty;
    this.#dirty = [];
    for (let i = 0; i < dirty.length; i++) dirty[i]!.flush();
  };

  // ---- the scan loop ----------------------------------------------------------------------------

  #scan = (): void => {
    const now = performance.now();
    this.#scanChannels(now);
    this.#scanClients(now);
  };

  /**
   * NSQD_SCAN_TIMING=<ms> (a diagnostic, read once at start): the same pass, timed; every <ms> a log line
   * gives the passes' median and max, split into the channel part and the client part. Off, the
   * plain #scan runs and nothing is timed.
   */
  #timedScan(): () => void {
    const channels: number[] = [];
    const clients: number[] = [];
    let since = performance.now();
    const ms = (xs: number[], q: number): string => xs.sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))]!.toFixed(3);
    return () => {
      const t0 = performance.now();
      this.#scanChannels(t0);
      const t1 = performance.now();
      this.#scanClients(t1);
      const t2 = performance.now();
      channels.push(t1 - t0);
      clients.push(t2 - t1);
      if (t2 - since < SCAN_TIMING_REPORT_MS) return;
      since = t2;
      let nChannels = 0;
      for (const t of this.topics.values()) nChannels += t.channels.size;
      this.logger.info(
        `NSQ: scan timing: ${channels.length} passes, channels p50 ${ms(channels, 0.5)} max ${ms(channels, 1)} ms, clients p50 ${ms(clients, 0.5)} max ${ms(clients, 1)} ms (${this.topics.size} topics, ${nChannels} channels, ${this.scanning.size} scanned, ${this.clients.size} clients)`,
      );
      channels.length = 0;
      clients.length = 0;
    };
  }

  /** In-flight and deferred timeouts of every channel, replication's failover clock, durable compaction. */
  #scanChannels(now: number): void {
    for (const ch of this.scanning) ch.scan(now);
    this.replication?.scan(Date.now());
    if (this.durability !== null && now - this.#lastCompact >= COMPACT_INTERVAL_MS) {
      this.#lastCompact = now;
      this.durability.compact();
    }
  }

  /** Heartbeats, read timeouts and expired authorizations of every connected client. */
  #scanClients(now: number): void {
    // a subscribed consumer that only receives sends no command that would find its authorization
    // expired: it is asked for again here (authState is null without auth servers)
    const wallNow = Date.now();
    for (const client of this.clients.values()) {
      if (client.authState !== null && client.state === STATE_SUBSCRIBED && !client.executing && client.authState.expires < wallNow) client.protocol?.authExpired();
      const hb = client.heartbeatInterval;
      // no heartbeat into a TLS handshake: the client expects the handshake's OK first
      if (hb <= 0 || client.state === STATE_CLOSING || client.upgrading) continue;
      // a read deadline of two heartbeat intervals, as nsqd's; it only counts once a heartbeat went
      // out after the last read, so a scan interval as long as the heartbeat's cannot cut a client
      // whose first heartbeat the pass before had not yet been due to send
      if (now - client.lastRead > 2 * hb && client.lastHeartbeat > client.lastRead && !client.executing) {
        this.logger.error(`[${client.remoteAddress}] - read timeout: no heartbeat response in ${2 * hb}ms`);
        client.socket.destroy();
        continue;
      }
      if (now - client.lastHeartbeat >= hb) {
        client.lastHeartbeat = now;
        client.sendResponse(RESPONSE_HEARTBEAT);
      }
    }
  }

  // ---- shutdown ---------------------------------------------------------------------------------

  /** Stops accepting, closes every client cleanly and releases the listeners. */
  stop(): Promise<void> {
    if (this.#stopping !== null) return this.#stopping;
    this.#stopping = this.#doStop();
    return this.#stopping;
  }

  async #doStop(): Promise<void> {
    this.logger.info('NSQ: closing');
    if (this.#scanTimer !== null) clearInterval(this.#scanTimer);
    this.lookup.close();
    this.replication?.close();
    this.#statsd?.close();
    const closing: Promise<void>[] = [];
    if (this.#tcp !== null) closing.push(new Promise((resolve) => this.#tcp!.close(() => resolve())));
    for (const http of [this.#http, this.#https]) {
      if (http === null) continue;
      closing.push(new Promise((resolve) => http.close(() => resolve())));
      http.closeIdleConnections();
    }
    for (const client of this.clients.values()) client.close();
    this.#flushAll();
    // a peer that does not close its side in time is cut off
    const force = setTimeout(() => {
      for (const client of this.clients.values()) client.socket.destroy();
      this.#http?.closeAllConnections();
      this.#https?.closeAllConnections();
    }, 2000);
    await Promise.all(closing);
    clearTimeout(force);
    // every message still held (queued, in flight, deferred) goes to disk for the next start
    let lost = 0;
    for (const topic of this.topics.values()) {
      try {
        lost += topic.persist();
      } catch (err) {
        this.logger.error(`TOPIC(${topic.name}): failed to persist - ${(err as Error).message}`);
      }
    }
    if (lost > 0) this.logger.error(`NSQ: the disk refused ${lost} message(s) at shutdown: they are lost`);
    this.lostAtStop = lost;
    if (this.#unlock !== null) {
      this.#writeMetadata();
      this.durability?.close();
      this.#unlock();
      this.#unlock = null;
    }
    this.topics.clear();
    this.logger.info('NSQ: bye');
  }
}

/** A durable topic's own retention limits (docs/retention.md), on its nsqd.dat entry only when set. */
function retentionMeta(t: Topic, meta: TopicMeta): TopicMeta {
  if (t.retention !== null) meta.retention = t.retention;
  if (t.retentionSize !== null) meta.retention_size = t.retentionSize;
  return meta;
}

/** A channel's own dead-letter settings (docs/dead-letters.md), on its nsqd.dat entry only when set. */
function deadLetterMeta(c: Channel, meta: ChannelMeta): ChannelMeta {
  if (c.maxAttempts !== null) meta.max_attempts = c.maxAttempts;
  if (c.deadLetterTopic !== null) meta.dead_letter_topic = c.deadLetterTopic;
  // ordered: kept when it differs from what --ordered-channel would make the channel
  if (c.ordered !== c.topic.nsqd.orderedByDefault(c.topic.name, c.name)) meta.ordered = c.ordered;
  return meta;
}
