// A replica's mirror of an origin's durable files: appends only at the file's size, whatever the
// origin wrote reads back with the journal reader, state survives reopening, names stay inside
// the mirror folder, and many files do not exhaust descriptors.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { Journal, readJournal, type JournalRecord } from '../../src/nsqd/journal.js';
import { ReplicaMirror, escapeName, listMirrors, listRetired, unescapeName } from '../../src/nsqd/replica-mirror.js';
import { listSegments, segmentFile } from '../../src/nsqd/segment-log.js';
import { E_REPL_OFFSET, E_REPL_PAYLOAD } from '../../src/protocol/replication.js';
import { Logger } from '../../src/util/log.js';
import { tempDir } from '../helpers/nsqd.js';

const quiet = new Logger('fatal', '', () => {});

function collect(dir: string, topic: string): string[] {
  const out: string[] = [];
  readJournal(dir, topic, quiet, (r: JournalRecord) => {
    out.push(`${r.id}/${r.target}/${r.due}/${r.data.toString('utf8', r.bodyStart, r.bodyStart + r.bodyLength)}`);
  });
  return out;
}

t.test("an origin's journal, shipped batch by batch, reads back the same from the mirror", async (t) => {
  const origin = tempDir(t);
  const root = join(tempDir(t), 'replicas');
  const j = new Journal(origin, 'orders', 4096, []);
  const mirror = new ReplicaMirror(root, '127.0.0.1:4150', 'a1b2');
  const shipped = new Map<string, number>();
  /** What the origin's link does each turn: send the bytes each file grew by. */
  const ship = (): void => {
    for (const num of listSegments(origin, 'orders.journal')) {
      const name = `orders.journal.${String(num).padStart(6, '0')}.dat`;
      const data = readFileSync(segmentFile(origin, 'orders.journal', num));
      const from = shipped.get(name) ?? 0;
      if (data.length > from) mirror.append(name, from, data.subarray(from));
      shipped.set(name, data.length);
    }
  };
  for (let turn = 0; turn < 30; turn++) {
    for (let k = 0; k < 7; k++) {
      const id = turn * 7 + k + 1;
      const body = Buffer.from(`message ${id} ${'x'.repeat(id % 50)}`);
      j.append(id, 1_700_000_000_000_000_000 + id, k === 3 ? 1_800_000_000_000 : 0, 1, k === 5 ? 'billing' : '', body, 0, body.length);
    }
    j.log.write(true);
    ship();
    mirror.commit(turn + 1);
  }
  t.ok(listSegments(origin, 'orders.journal').length > 3, 'the origin rolled segments');
  t.same(collect(mirror.dir, 'orders'), collect(origin, 'orders'));
  t.equal(collect(mirror.dir, 'orders').length, 210);
  t.equal(mirror.state.confirmed, 30);
  mirror.close();

  // reopened: sizes come from the files, the state from state.json
  const again = new ReplicaMirror(root, '127.0.0.1:4150', 'a1b2');
  t.same(again.files(), Object.fromEntries(shipped));
  t.equal(again.state.confirmed, 30);
  again.close();
});

t.test('an append that does not start at the file size is refused and changes nothing', async (t) => {
  const root = tempDir(t);
  const m = new ReplicaMirror(root, 'a:1', 'ff');
  const origin = tempDir(t);
  const j = new Journal(origin, 't', 1 << 20, []);
  const body = Buffer.from('hello');
  j.append(1, 1, 0, 1, '', body, 0, body.length);
  j.log.write(true);
  const bytes = readFileSync(segmentFile(origin, 't.journal', 0));
  m.append('t.journal.000000.dat', 0, bytes);
  t.throws(() => m.append('t.journal.000000.dat', 0, bytes), { code: E_REPL_OFFSET }, 'a repeat at 0');
  t.throws(() => m.append('t.journal.000000.dat', bytes.length + 1, bytes), { code: E_REPL_OFFSET }, 'a gap');
  t.throws(() => m.append('t.journal.000001.dat', 5, bytes), { code: E_REPL_OFFSET }, 'a new file not at 0');
  m.commit(1);
  t.equal(readFileSync(join(m.dir, 't.journal.000000.dat')).length, bytes.length);
  t.same(collect(m.dir, 't'), [`1//0/hello`]);
  m.close();
});

t.test('only durable file names are written, and meta.json and state.json survive', async (t) => {
  const root = tempDir(t);
  const m = new ReplicaMirror(root, 'h:1', '01');
  for (const name of ['nsqd.dat', 'x.diskqueue.000000.dat', 'meta.json', 'state.json', 'x.journal.dat']) {
    t.throws(() => m.append(name, 0, Buffer.from('x')), { code: E_REPL_PAYLOAD }, name);
    t.throws(() => m.remove(name), { code: E_REPL_PAYLOAD }, name);
  }
  t.throws(() => new ReplicaMirror(root, 'h:1', '../../etc'), { code: E_REPL_PAYLOAD });
  m.setMeta({ topics: [{ name: 'orders', paused: true, channels: [] }] });
  m.touch(12345);
  m.commit(7);
  m.close();
  const again = new ReplicaMirror(root, 'h:1', '01');
  t.same(again.meta, { topics: [{ name: 'orders', paused: true, channels: [] }] });
  t.same(again.state, { last_contact: 12345, confirmed: 7 });
  t.notOk(readdirSync(again.dir).some((n) => n.endsWith('.tmp')), 'no temporary files left');
  // taken over: moved aside, no longer listed as a copy, listed as retired until it is deleted
  const retired = again.retire();
  t.same(listMirrors(root), [], 'a retired copy is not a copy to follow or take over');
  t.same(listRetired(root), [retired]);
  t.ok(readdirSync(retired).includes('meta.json'), 'its files are still there');
  t.same(new ReplicaMirror(root, 'h:1', '01').files(), {}, 'an origin that comes back finds no copy');
});

t.test('remove, drop, and listing mirrors by origin name', async (t) => {
  const root = tempDir(t);
  const a = new ReplicaMirror(root, '10.0.0.1:4150', 'aa');
  const b = new ReplicaMirror(root, 'node/b', 'bb');
  const origin = tempDir(t);
  const j = new Journal(origin, 'q', 1 << 20, []);
  j.append(1, 1, 0, 1, '', Buffer.from('x'), 0, 1);
  j.log.write(true);
  a.append('q.journal.000000.dat', 0, readFileSync(segmentFile(origin, 'q.journal', 0)));
  a.commit(1);
  t.same(
    listMirrors(root).sort((x, y) => x.origin.localeCompare(y.origin)),
    [
      { origin: '10.0.0.1:4150', incarnation: 'aa' },
      { origin: 'node/b', incarnation: 'bb' },
    ],
  );
  t.equal(unescapeName(escapeName('a:b/c%d')), 'a:b/c%d');
  t.notMatch(escapeName('a:b/c'), /[:/]/);
  a.remove('q.journal.000000.dat');
  a.commit(2);
  t.same(a.files(), {});
  t.notOk(existsSync(join(a.dir, 'q.journal.000000.dat')));
  b.drop();
  t.same(listMirrors(root), [{ origin: '10.0.0.1:4150', incarnation: 'aa' }]);
});

t.test('more files than descriptors kept open: all written, all synced', async (t) => {
  const root = tempDir(t);
  const m = new ReplicaMirror(root, 'h:1', 'cc');
  const origin = tempDir(t);
  const names: string[] = [];
  for (let i = 0; i < 100; i++) {
    const topic = `t${i}`;
    const j = new Journal(origin, topic, 1 << 20, []);
    j.append(i + 1, 1, 0, 1, '', Buffer.from(`body ${i}`), 0, `body ${i}`.length);
    j.log.write(true);
    const name = `${topic}.journal.000000.dat`;
    names.push(name);
    m.append(name, 0, readFileSync(segmentFile(origin, `${topic}.journal`, 0)));
  }
  m.commit(1);
  for (let i = 0; i < 100; i++) t.same(collect(m.dir, `t${i}`), [`${i + 1}//0/body ${i}`], `t${i}`);
  m.close();
});
