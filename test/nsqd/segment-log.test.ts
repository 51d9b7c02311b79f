// Durable mode's file formats: SegmentLog batches across segment rolls, torn and corrupt data,
// journal and ack records written and read back, and dropBelow (compaction's delete).

import { existsSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import t from 'tap';
import { AckLog, Journal, channelAckPrefix, journalPrefix, readAcks, readJournal, type JournalRecord } from '../../src/nsqd/journal.js';
import { SegmentLog, emptySegment, listSegments, readSegment, segmentFile } from '../../src/nsqd/segment-log.js';
import { Logger } from '../../src/util/log.js';
import { tempDir } from '../helpers/nsqd.js';

/** A logger whose lines are kept, so a test can see what recovery reported. */
function capture(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  return { logger: new Logger('debug', '[t] ', (line) => lines.push(line)), lines };
}

/** Appends one record (`[4-byte id][text]`) to the batch being built. */
function put(log: SegmentLog, id: number, text: string): void {
  const n = 4 + Buffer.byteLength(text);
  const buf = log.reserve(n);
  const at = log.offset;
  buf.writeUInt32BE(id, at);
  buf.write(text, at + 4);
  log.commitRecord(n, id);
}

/** Every record of a segment's intact batches, as `id:text`. */
function records(file: string): { recs: string[]; batches: number; discarded: number } {
  const { batches, discarded } = readSegment(file);
  const recs: string[] = [];
  for (const b of batches) {
    // each test batch holds records of one fixed size (4 + 6 bytes)
    for (let pos = 0; pos < b.length; pos += 10) recs.push(`${b.readUInt32BE(pos)}:${b.toString('utf8', pos + 4, pos + 10)}`);
  }
  return { recs, batches: batches.length, discarded };
}

/** Writes `batches` batches of 3 records each (ids from 1), rolling every `maxBytes`. */
function writeBatches(dir: string, prefix: string, maxBytes: number, batches: number): SegmentLog {
  const log = new SegmentLog({ dataPath: dir, prefix, maxBytesPerFile: maxBytes });
  let id = 1;
  for (let b = 0; b < batches; b++) {
    for (let r = 0; r < 3; r++, id++) put(log, id, `rec${String(id).padStart(3, '0')}`);
    log.write(true);
  }
  return log;
}

t.test('batches are written and read back in order across segment rolls', async (t) => {
  const dir = tempDir(t);
  // a batch is 8 + 3 * 10 = 38 bytes; 80 bytes per file: a roll after every third batch
  const log = writeBatches(dir, 'x', 80, 7);
  log.close();
  const nums = listSegments(dir, 'x');
  t.same(nums, [0, 1, 2], 'three segment files, numbered from 000000');
  t.ok(existsSync(segmentFile(dir, 'x', 0)) && segmentFile(dir, 'x', 2).endsWith('x.000002.dat'), 'named <prefix>.NNNNNN.dat');
  const all: string[] = [];
  for (const n of nums) {
    const r = records(segmentFile(dir, 'x', n));
    t.equal(r.discarded, 0, `segment ${n} ends cleanly`);
    all.push(...r.recs);
  }
  t.same(all, Array.from({ length: 21 }, (_, i) => `${i + 1}:rec${String(i + 1).padStart(3, '0')}`), 'all 21 records, in order');
  t.same(
    log.segments().map((s) => [s.num, s.minId, s.maxId]),
    [
      [0, 1, 9],
      [1, 10, 18],
      [2, 19, 21],
    ],
    'each segment knows its lowest and highest ID',
  );
  t.equal(statSync(segmentFile(dir, 'x', 0)).size, 3 * 38, 'a segment holds whole batches only');
});

t.test('a reopened log never appends to an old (possibly torn) file: it starts the next segment', async (t) => {
  const dir = tempDir(t);
  writeBatches(dir, 'x', 1 << 20, 2).close();
  const before = readFileSync(segmentFile(dir, 'x', 0));
  const again = new SegmentLog({ dataPath: dir, prefix: 'x', maxBytesPerFile: 1 << 20 }, [{ ...emptySegment(0), minId: 1, maxId: 6 }]);
  put(again, 7, 'rec007');
  again.close();
  t.same(listSegments(dir, 'x'), [0, 1]);
  t.same(readFileSync(segmentFile(dir, 'x', 0)), before, 'the old segment is untouched');
  t.same(records(segmentFile(dir, 'x', 1)).recs, ['7:rec007']);
});

t.test('a torn last batch is cut off; the batches before it are intact', async (t) => {
  const dir = tempDir(t);
  writeBatches(dir, 'x', 1 << 20, 3).close();
  const file = segmentFile(dir, 'x', 0);
  t.equal(statSync(file).size, 3 * 38);
  truncateSync(file, 2 * 38 + 20); // the crash came in the middle of the third batch
  const r = records(file);
  t.equal(r.batches, 2, 'two intact batches');
  t.same(r.recs, ['1:rec001', '2:rec002', '3:rec003', '4:rec004', '5:rec005', '6:rec006']);
  t.equal(r.discarded, 20, 'the torn 20 bytes are reported');

  truncateSync(file, 2 * 38 + 5); // torn inside the next batch's header
  t.same(records(file).recs.length, 6);
  t.equal(records(file).discarded, 5);
});

t.test('a flipped byte in an older segment fails its checksum and is reported, not thrown', async (t) => {
  const dir = tempDir(t);
  const topic = 'flip';
  const j = new Journal(dir, topic, 150, []);
  const body = Buffer.from('0123456789abcdefghij');
  for (let id = 1; id <= 12; id++) {
    j.append(id, id * 1000, 0, 0, '', body, 0, body.length);
    if (id % 2 === 0) j.log.write(true);
  }
  j.log.close();
  const nums = listSegments(dir, journalPrefix(topic));
  t.ok(nums.length >= 3, `the journal rolled (${nums.length} segments)`);
  const victim = segmentFile(dir, journalPrefix(topic), nums[0]!);
  const data = readFileSync(victim);
  data[data.length - 3] ^= 0xff; // inside the body of the segment's last batch
  writeFileSync(victim, data);
  const r = readSegment(victim);
  t.ok(r.discarded > 0, `readSegment reports the damaged batch (${r.discarded} bytes)`);

  const { logger, lines } = capture();
  const ids: number[] = [];
  const segs = readJournal(dir, topic, logger, (rec) => ids.push(rec.id));
  t.equal(segs.length, nums.length, 'every segment is still listed');
  // 150 bytes per file, 51-byte records written two per batch: segments of IDs 1-4, 5-8, 9-12
  t.same(ids, [1, 2, 5, 6, 7, 8, 9, 10, 11, 12], 'only the damaged batch (IDs 3 and 4) is lost; later segments are read in full');
  t.ok(
    lines.some((l) => /ERROR/.test(l) && l.includes('damaged data') && l.includes(victim)),
    'the damage in an older segment is logged as an error',
  );
});

t.test('journal records round-trip: PUB, DPUB with its due time, channel-targeted, large IDs', async (t) => {
  const dir = tempDir(t);
  const topic = 'rt';
  const j = new Journal(dir, topic, 1 << 20, []);
  const src = Buffer.from('xxhelloyydeferredzz\u00e9t\u00e9');
  const big = 2 ** 40 + 12345; // IDs and timestamps above 32 bits
  const due = Date.now() + 3000.5;
  j.append(1, 1_700_000_000_123_456_789, 0, 0, '', src, 2, 5);
  j.append(2, 42, due, 3, '', src, 9, 8);
  j.append(big, 7, 0, 70_000, 'chan#x', src, 19, src.length - 19);
  j.append(4, 8, 0, 1, '', src, 0, 0); // an empty body
  // a dead-letter move: a whole-topic message that names its source (docs/dead-letters.md)
  const longTopic = 'o'.repeat(64);
  j.appendMove(5, 9, longTopic, 'c'.repeat(64), big + 1, src, 2, 5);
  j.log.close();
  const got: (Omit<JournalRecord, 'data' | 'bodyStart' | 'bodyLength' | 'moveId' | 'moveTopic' | 'moveChannel'> & { body: string; move?: [number, string, string] })[] = [];
  const segs = readJournal(dir, topic, capture().logger, (r) => {
    const rec: (typeof got)[number] = { id: r.id, timestamp: r.timestamp, due: r.due, attempts: r.attempts, target: r.target, body: r.data.toString('utf8', r.bodyStart, r.bodyStart + r.bodyLength) };
    if (r.moveId >= 0) rec.move = [r.moveId, r.moveTopic, r.moveChannel];
    got.push(rec);
  });
  t.same(got, [
    // the timestamp keeps its float64 value (IDs and timestamps are numbers in the engine)
    { id: 1, timestamp: 1_700_000_000_123_456_789, due: 0, attempts: 0, target: '', body: 'hello' },
    { id: 2, timestamp: 42, due, attempts: 3, target: '', body: 'deferred' },
    { id: big, timestamp: 7, due: 0, attempts: 65535, target: 'chan#x', body: src.toString('utf8', 19) },
    { id: 4, timestamp: 8, due: 0, attempts: 1, target: '', body: '' },
    { id: 5, timestamp: 9, due: 0, attempts: 0, target: '', body: 'hello', move: [big + 1, longTopic, 'c'.repeat(64)] },
  ]);
  t.same(
    segs.map((s) => [s.num, s.minId, s.maxId]),
    [[0, 1, big]],
    'the segment range read back',
  );
});

t.test('ack logs round-trip', async (t) => {
  const dir = tempDir(t);
  const prefix = channelAckPrefix('tp', 'ch');
  const a = new AckLog(dir, prefix, []);
  for (const id of [5, 3, 2 ** 45 + 1]) a.add(id);
  a.log.write(false);
  a.add(9);
  a.log.close();
  t.same(listSegments(dir, prefix), [0]);
  t.ok(existsSync(segmentFile(dir, prefix, 0)) && segmentFile(dir, prefix, 0).endsWith('tp:ch.acks.000000.dat'));
  const loaded = readAcks(dir, prefix, capture().logger);
  t.same([...loaded.ids].sort((x, y) => x - y), [3, 5, 9, 2 ** 45 + 1]);
  t.same(
    loaded.segments.map((s) => [s.num, s.minId, s.maxId]),
    [[0, 3, 2 ** 45 + 1]],
  );
  t.same(readAcks(dir, channelAckPrefix('tp', 'other'), capture().logger).ids.size, 0, 'no files: nothing acked');
});

t.test('dropBelow deletes only sealed segments wholly below the ID', async (t) => {
  const dir = tempDir(t);
  // segments: 0 = ids 1..9, 1 = ids 10..18, 2 (still being written) = ids 19..21
  const log = writeBatches(dir, 'x', 80, 7);
  t.equal(log.dropBelow(9), 0, 'segment 0 still holds ID 9');
  t.same(listSegments(dir, 'x'), [0, 1, 2]);
  t.equal(log.dropBelow(10), 1, 'segment 0 goes once every ID in it is below the mark');
  t.same(listSegments(dir, 'x'), [1, 2]);
  t.equal(log.dropBelow(1000), 1, 'the current segment is never deleted, whatever the mark');
  t.same(listSegments(dir, 'x'), [2]);
  t.same(records(segmentFile(dir, 'x', 2)).recs, ['19:rec019', '20:rec020', '21:rec021']);
  log.seal();
  t.equal(log.dropBelow(21), 0, 'sealed, but 21 is not below 21');
  t.equal(log.dropBelow(22), 1, 'once sealed it can go');
  t.same(listSegments(dir, 'x'), []);
  log.close();
});
