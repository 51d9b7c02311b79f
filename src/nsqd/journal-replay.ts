// Which journal records are still owed to whom: the one reading of a topic's journal and ack logs
// that both a node's own start (durable.ts, recover) and a replica's takeover of a lost origin
// (replication) go through, so the two can never disagree about what is unfinished.

import type { Logger } from '../util/log.js';
import { channelAckPrefix, readAcks, readJournal, topicAckPrefix, type JournalRecord } from './journal.js';
import type { SegmentInfo } from './segment-log.js';

export interface ReplayChannel {
  name: string;
  /** the first topic message ID that belongs to the channel */
  startId: number;
}

export interface ReplayTopic {
  name: string;
  paused: boolean;
  /** the lasting (not ephemeral) channels; [] when it has none */
  channels: ReplayChannel[];
  /** a paused topic, or one without channels: the first ID it keeps itself */
  heldFrom: number;
  /** the topic has channels, only ephemeral ones (they do not keep messages across a restart) */
  onlyEphemeral?: boolean;
  /** IDs moved out of a channel to a dead-letter topic (collectMoves), by channel name: not owed */
  moved?: ReadonlyMap<string, ReadonlySet<number>>;
}

export interface ReplaySink {
  /** A message the topic itself holds (paused, or no channels); `n` numbers the journal's records. */
  waiting(r: JournalRecord, n: number): void;
  /** A message channel `index` (of ReplayTopic.channels) has not finished (one call per channel, same `n`). */
  owed(index: number, r: JournalRecord, n: number): void;
  /** A record channel `index` would be owed, moved to a dead-letter topic (its ack may be missing). */
  moved?(index: number, id: number): void;
}

export interface ReplayFiles {
  journal: SegmentInfo[];
  topicAcks: SegmentInfo[];
  channelAcks: SegmentInfo[][];
  /** the highest ID found in any of the files, -1 when none */
  maxId: number;
}

/**
 * Reads topic `t`'s journal in `dir` oldest first and hands each record to whoever still needs it:
 * the topic's own queue from heldFrom on (paused, or without channels), else each channel whose
 * start is at or below the ID (or the one it targets) and that has not acked it. A record `sink`
 * gets is valid only during the call.
 */
export function replayTopic(dir: string, t: ReplayTopic, logger: Logger, sink: ReplaySink): ReplayFiles {
  const topicAcks = readAcks(dir, topicAckPrefix(t.name), logger);
  const acks = t.channels.map((c) => readAcks(dir, channelAckPrefix(t.name, c.name), logger));
  let maxId = -1;
  const note = (segs: SegmentInfo[]): void => {
    for (const s of segs) if (s.maxId > maxId) maxId = s.maxId;
  };
  note(topicAcks.segments);
  for (const a of acks) note(a.segments);
  const noChannels = t.channels.length === 0 && t.onlyEphemeral !== true;
  const heldFrom = t.paused || noChannels ? t.heldFrom : Infinity;
  const channels = t.channels;
  const moved = channels.map((c) => t.moved?.get(c.name) ?? null);
  let n = 0;
  const journal = readJournal(dir, t.name, logger, (r) => {
    n++;
    if (r.id > maxId) maxId = r.id;
    if (topicAcks.ids.has(r.id)) return;
    if (r.target === '' && r.id >= heldFrom) {
      sink.waiting(r, n);
      return;
    }
    if (noChannels) return;
    for (let i = 0; i < channels.length; i++) {
      const c = channels[i]!;
      if (r.target !== '' ? c.name !== r.target : c.startId > r.id) continue;
      if (acks[i]!.ids.has(r.id)) continue;
      if (moved[i] !== null && moved[i]!.has(r.id)) {
        sink.moved?.(i, r.id);
        continue;
      }
      sink.owed(i, r, n);
    }
  });
  return { journal, topicAcks: topicAcks.segments, channelAcks: acks.map((a) => a.segments), maxId };
}

/** Moved IDs by source topic, then channel. */
export type Moves = Map<string, Map<string, Set<number>>>;

/**
 * Reads the journals of `topics` (those marked `dead_letters` in nsqd.dat or a copy's meta.json)
 * for their dead-letter move records (docs/dead-letters.md): which IDs each source channel moved
 * out. Read before any topic is replayed, so the order of topics does not matter (a dead-letter
 * topic may be a source itself).
 */
export function collectMoves(dir: string, topics: readonly string[], logger: Logger): Moves {
  const moves: Moves = new Map();
  for (const name of topics) {
    readJournal(dir, name, logger, (r) => {
      if (r.moveId < 0) return;
      let byChannel = moves.get(r.moveTopic);
      if (byChannel === undefined) moves.set(r.moveTopic, (byChannel = new Map()));
      let ids = byChannel.get(r.moveChannel);
      if (ids === undefined) byChannel.set(r.moveChannel, (ids = new Set()));
      ids.add(r.moveId);
    });
  }
  return moves;
}
