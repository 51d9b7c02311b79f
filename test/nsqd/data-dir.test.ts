// The data path's file lookup: grouping by key (segments, metadata, .bad set-asides), the same
// answers with a start-up listing as without, and removals seen by the listing.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { closeListing, filesOf, openListing, removeFile } from '../../src/nsqd/data-dir.js';
import { tempDir } from '../helpers/nsqd.js';

t.test('files are found by key, with or without the start-up listing', async (t) => {
  const dir = tempDir(t);
  const names = [
    'orders.journal.000000.dat',
    'orders.journal.000001.dat',
    'orders.journal.x.000002.dat', // topic "orders.journal.x"
    'orders:c.acks.000000.dat',
    'orders#spill.diskqueue.meta.dat',
    'orders#spill.diskqueue.000003.dat',
    'orders.diskqueue.000004.dat.bad',
    'orders.diskqueue.000005.bad.dat',
    'nsqd.dat',
    'nsqd.lock',
  ];
  for (const n of names) writeFileSync(join(dir, n), '');
  const ask = (): Record<string, string[]> =>
    Object.fromEntries(['orders.journal', 'orders.journal.x', 'orders:c.acks', 'orders#spill.diskqueue', 'orders.diskqueue', 'nsqd'].map((k) => [k, filesOf(dir, k).sort()]));
  const expected = {
    'orders.journal': ['orders.journal.000000.dat', 'orders.journal.000001.dat'],
    'orders.journal.x': ['orders.journal.x.000002.dat'],
    'orders:c.acks': ['orders:c.acks.000000.dat'],
    'orders#spill.diskqueue': ['orders#spill.diskqueue.000003.dat', 'orders#spill.diskqueue.meta.dat'],
    'orders.diskqueue': ['orders.diskqueue.000004.dat.bad', 'orders.diskqueue.000005.bad.dat'],
    nsqd: [],
  };
  t.same(ask(), expected, 'reading the folder');
  openListing(dir);
  t.teardown(closeListing);
  t.same(ask(), expected, 'from the listing: the same answers');
  removeFile(dir, 'orders.journal.000000.dat');
  t.same(filesOf(dir, 'orders.journal'), ['orders.journal.000001.dat'], 'a removal is seen by the listing');
  closeListing();
  t.same(filesOf(dir, 'orders.journal'), ['orders.journal.000001.dat'], 'and is real on disk');
});
