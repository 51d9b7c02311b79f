// The origin's end of one replication link (docs/replication.md, "Running" and "Catch-up"): it
// keeps one replica's mirror equal to this node's durable files. The link holds no copy of the
// data: it remembers how much of each file the replica has and, after each group commit, sends
// what the files grew by (read back from the page cache), then COMMIT; the replica's CONFIRM says
// all of it is fsynced there. After any outage the replica's STATE (its files and sizes) is where
// sending starts again, so catching up and running are one mechanism.

import { closeSync, openSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import type { Logger } from '../util/log.js';
import { MIRRORED_FILE } from './replica-mirror.js';
import { SEND_HIGH_WATER, readAppends } from './replica-append.js';
import {
  ReplFrameDecoder,
  T_CONFIRM,
  T_ERROR,
  T_HELLO,
  T_PING,
  T_STATE,
  T_TAKEN,
  encodeJson,
  encodeMeta,
  encodePing,
  encodeRemove,
  encodeSeq,
  T_COMMIT,
  frameTypeName,
  type ReplFrame,
  type ReplicationProtocolError,
} from '../protocol/replication.js';


const PING_MS = 1000;

/**
 * How often a side of a link looks whether to PING: every second, or a quarter of the failover
 * timeout when that is shorter; it pings when it sent nothing for half of that. So the gap between
 * frames stays under 1.5 times it, well inside the other side's clock (an idle link with
 * --failover-timeout=1s was taken over between two pings a second apart).
 */
export function pingInterval(failoverMs: number): number {
  return Math.min(PING_MS, Math.max(50, Math.floor(failoverMs / 4)));
}

import type { LinkState } from '../protocol/stats-json.js';

export type { LinkState };

export interface LinkIdentity {
  name: string;
  incarnation: string;
  /** the origin's replica addresses, in order (a replica's rank decides when it may take over) */
  replicas: string[];
}

export interface LinkEvents {
  /** the replica has fsynced everything up to commit `seq` */
  confirmed(link: ReplicaLink, seq: number): void;
  /** the link went in or out of sync */
  state(link: ReplicaLink, state: LinkState, why?: string): void;
  /** the replica answered HELLO; `takenOver`: it delivered this incarnation's messages meanwhile (apply, then TAKEN_OK) */
  stated?(link: ReplicaLink, takenOver: Record<string, unknown> | null): void;
}

export interface ReplicaLinkOptions {
  dataPath: string;
  identity: LinkIdentity;
  logger: Logger;
  events: LinkEvents;
  /** the durable metadata (topics, channels, start_id, held_from, paused) as sent in META */
  meta: () => unknown;
  /** the engine's newest commit sequence (commits are numbered from 1; 1 is "nothing yet") */
  currentSeq: () => number;
  /** a replica silent this long is taken out of sync */
  failoverMs: number;
}

/**
 * One link's protocol on a connected stream (after V2's `REPL` was answered OK). `files` lists the
 * origin's durable files with their sizes; `meta` returns the durable metadata JSON.
 */
export class ReplicaLink {
  readonly address: string;
  #o: ReplicaLinkOptions;
  #socket: Duplex | null = null;
  #decoder: ReplFrameDecoder | null = null;
  #state: LinkState = 'down';
  /** bytes of each file the replica has (or was sent: frames in flight count as had) */
  #sent = new Map<string, number>();
  /** files that grew since they were last sent; name → size now */
  #dirty = new Map<string, number>();
  #removed: string[] = [];
  #metaDirty = false;
  /** the engine commit to announce next, and the last one announced on this connection (sequences are the engine's) */
  #wantSeq = 0;
  #sentSeq = 0;
  #confirmedSeq = 0;
  /** catch-up: the commit that, once confirmed, makes the link in sync */
  #syncSeq = 0;
  #lastHeard = 0;
  #lastSent = 0;
  #ping: NodeJS.Timeout | null = null;
  #pumpScheduled = false;
  lagBytes = 0;

  constructor(address: string, o: ReplicaLinkOptions) {
    this.address = address;
    this.#o = o;
  }

  get state(): LinkState {
    return this.#state;
  }

  get inSync(): boolean {
    return this.#state === 'in_sync';
  }

  get confirmedSeq(): number {
    return this.#confirmedSeq;
  }

  get lastContact(): number {
    return this.#lastHeard;
  }

  /** Runs the link on `socket` (already past V2 and REPL); `early` is what arrived after REPL's OK. */
  attach(socket: Duplex, early: Buffer): void {
    this.#socket = socket;
    this.#setState('catching_up');
    this.#lastHeard = Date.now();
    this.#sent.clear();
    this.#dirty.clear();
    this.#removed = [];
    this.#sentSeq = 0;
    this.#syncSeq = 0;
    this.#decoder = new ReplFrameDecoder({
      onReplFrame: (f) => this.#onFrame(f),
      onReplError: (err) => this.#protocolError(err),
    });
    socket.on('data', (chunk: Buffer) => this.#decoder?.push(chunk));
    socket.on('drain', () => this.#schedulePump());
    socket.on('error', (err) => this.#down(`replication link to ${this.address}: ${err.message}`));
    socket.on('close', () => this.#down(`replication link to ${this.address} closed`));
    const id = this.#o.identity;
    this.#send(encodeJson(T_HELLO, { version: 1, name: id.name, incarnation: id.incarnation, replicas: id.replicas, restore: false }));
    this.#ping = setInterval(() => this.#tick(), pingInterval(this.#o.failoverMs));
    this.#ping.unref();
    if (early.length > 0) this.#decoder.push(early);
  }

  /** Closes the link (the engine stops, or the owner gives up on it). */
  close(why = 'closed'): void {
    this.#down(why);
  }

  // ---- what the engine tells the link ----------------------------------------------------------

  /** A durable file is now `size` bytes (a batch was written). */
  grew(file: string, size: number): void {
    const sent = this.#sent.get(file);
    if (sent !== undefined && size < sent) {
      // the file was cut back (a refused batch discarded): the replica's copy starts again
      this.#sent.delete(file);
      this.#removed.push(file);
    }
    this.#dirty.set(file, size);
  }

  /** A durable file was deleted (compaction, or its topic or channel went). */
  removed(file: string): void {
    this.#dirty.delete(file);
    if (this.#sent.delete(file) || this.#state === 'catching_up') this.#removed.push(file);
  }

  metaChanged(): void {
    this.#metaDirty = true;
  }

  /** The engine's commit `seq` is on its own disk: send what it wrote, then COMMIT seq. */
  commit(seq: number): void {
    if (seq > this.#wantSeq) this.#wantSeq = seq;
    this.#pump();
  }

  // ---- frames from the replica -----------------------------------------------------------------

  #onFrame(f: ReplFrame): void {
    this.#lastHeard = Date.now();
    switch (f.type) {
      case T_STATE:
        return this.#catchUp(f.json);
      case T_CONFIRM:
        if (f.seq > this.#sentSeq) return this.#protocolError(new Error(`CONFIRM ${f.seq} for a commit not sent (last ${this.#sentSeq})`) as ReplicationProtocolError);
        if (f.seq > this.#confirmedSeq) this.#confirmedSeq = f.seq;
        if (this.#state === 'catching_up' && this.#syncSeq > 0 && f.seq >= this.#syncSeq) this.#setState('in_sync');
        this.#o.events.confirmed(this, f.seq);
        return;
      case T_PING:
        return;
      case T_TAKEN:
        this.#o.events.stated?.(this, f.json);
        return;
      case T_ERROR:
        return this.#down(`replica ${this.address} refused: ${f.text}`);
      default:
        return this.#down(`replica ${this.address} sent ${frameTypeName(f.type)}, which a replica does not send`);
    }
  }

  /** STATE: the replica's files for our incarnation; send whatever differs, then one COMMIT. */
  #catchUp(state: Record<string, unknown>): void {
    const theirs = state['files'];
    if (state['incarnation'] !== this.#o.identity.incarnation || theirs === null || typeof theirs !== 'object') {
      return this.#down(`replica ${this.address} answered HELLO with a STATE for another incarnation`);
    }
    const taken = state['taken_over'];
    this.#o.events.stated?.(this, taken !== null && typeof taken === 'object' && !Array.isArray(taken) ? (taken as Record<string, unknown>) : null);
    if (this.#socket === null) return;
    const ours = listDurableFiles(this.#o.dataPath);
    for (const [name, size] of Object.entries(theirs as Record<string, unknown>)) {
      if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) return this.#down(`replica ${this.address} sent a bad STATE`);
      const mine = ours.get(name);
      if (mine === undefined || size > mine) {
        // gone here, or longer there (our torn tail after a crash, never acknowledged): start it again
        this.#removed.push(name);
        continue;
      }
      this.#sent.set(name, size);
    }
    for (const [name, size] of ours) if (size > (this.#sent.get(name) ?? 0)) this.#dirty.set(name, size);
    this.#metaDirty = true;
    // the files hold every commit up to the engine's newest: once that is confirmed, the replica holds all we have
    this.#wantSeq = Math.max(this.#wantSeq, this.#o.currentSeq());
    this.#syncSeq = this.#wantSeq;
    this.#pump();
  }

  // ---- sending ---------------------------------------------------------------------------------

  #schedulePump(): void {
    if (this.#pumpScheduled || this.#socket === null) return;
    this.#pumpScheduled = true;
    setImmediate(() => {
      this.#pumpScheduled = false;
      this.#pump();
    });
  }

  /** Queues removals, then file growth (until the socket is full), then META and COMMIT. */
  #pump(): void {
    const socket = this.#socket;
    if (socket === null || this.#state === 'down' || this.#state === 'connecting') return;
    // a COMMIT may only follow a STATE: before it the replica's sizes are unknown
    if (this.#syncSeq === 0) return;
    const seq = this.#wantSeq;
    for (const name of this.#removed.splice(0)) this.#send(encodeRemove(seq, name));
    for (const [name, size] of this.#dirty) {
      if (socket.writableLength > SEND_HIGH_WATER) {
        this.lagBytes = this.#pendingBytes();
        return; // 'drain' pumps again; COMMIT waits for the data it covers
      }
      const from = this.#sent.get(name) ?? 0;
      if (size > from && !this.#sendFile(seq, name, from, size)) return;
      this.#dirty.delete(name);
    }
    if (this.#metaDirty) {
      this.#send(encodeMeta(seq, this.#o.meta()));
      this.#metaDirty = false;
    }
    if (seq > this.#sentSeq) {
      this.#send(encodeSeq(T_COMMIT, seq));
      this.#sentSeq = seq;
    }
    this.lagBytes = 0;
  }

  #pendingBytes(): number {
    let n = 0;
    for (const [name, size] of this.#dirty) n += size - (this.#sent.get(name) ?? 0);
    return n;
  }

  /** Sends file bytes [from, to) as APPENDs of whole batches; false when the file is gone or unreadable. */
  #sendFile(seq: number, name: string, from: number, to: number): boolean {
    let fd: number;
    try {
      fd = openSync(join(this.#o.dataPath, name), 'r');
    } catch {
      // removed since it was written (its REMOVE is queued, or it was never sent)
      this.#dirty.delete(name);
      return true;
    }
    try {
      const r = readAppends(fd, name, seq, from, to, (frame, end) => {
        this.#send(frame);
        this.#sent.set(name, end);
        return true;
      });
      if (r.end === 'short') this.#o.logger.warn(`REPLICATION(${this.address}): ${name} has no whole batch at ${r.reached} (cut back meanwhile?); sent up to there`);
      return true;
    } catch (err) {
      this.#o.logger.error(`REPLICATION(${this.address}): reading ${name}: ${(err as Error).message}`);
      return false;
    } finally {
      closeSync(fd);
    }
  }

  /** A control frame to the replica (TAKEN_OK). */
  send(frame: Buffer): void {
    this.#send(frame);
  }

  #send(frame: Buffer): void {
    this.#lastSent = Date.now();
    this.#socket?.write(frame);
  }

  #tick(): void {
    const now = Date.now();
    if (now - this.#lastHeard > this.#o.failoverMs) {
      this.#down(`replica ${this.address} silent for ${now - this.#lastHeard} ms`);
      return;
    }
    if (now - this.#lastSent >= pingInterval(this.#o.failoverMs) / 2) this.#send(encodePing());
  }

  #protocolError(err: Error): void {
    this.#down(`replica ${this.address}: ${err.message}`);
  }

  #setState(s: LinkState, why?: string): void {
    if (this.#state === s) return;
    this.#state = s;
    this.#o.events.state(this, s, why);
  }

  #down(why: string): void {
    if (this.#ping !== null) clearInterval(this.#ping);
    this.#ping = null;
    this.#decoder?.stop();
    this.#decoder = null;
    const s = this.#socket;
    this.#socket = null;
    this.#syncSeq = 0;
    if (s !== null) s.destroy();
    this.#setState('down', why);
  }
}

/** The durable files in `dataPath` and their sizes. */
export function listDurableFiles(dataPath: string): Map<string, number> {
  const out = new Map<string, number>();
  let names: string[];
  try {
    names = readdirSync(dataPath);
  } catch {
    return out;
  }
  for (const name of names) {
    if (!MIRRORED_FILE.test(name)) continue;
    try {
      out.set(name, statSync(join(dataPath, name)).size);
    } catch {
      // removed meanwhile
    }
  }
  return out;
}
