// The plain-TypeScript MD5 and CRC-32 behind the default node ID agree with node:crypto and
// node:zlib on inputs of every length around the 64-byte block edges, and the default node ID is
// nsqd's: crc32(md5(hostname)) % 1024.

import t from 'tap';
import { createHash, randomBytes } from 'node:crypto';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { hostname } from 'node:os';
import { crc32, md5 } from '../../src/util/node-id-hash.js';
import { defaultNodeId } from '../../src/nsqd/options.js';

t.test('md5 and crc32 match node:crypto and node:zlib', async (t) => {
  const wrong: string[] = [];
  for (let len = 0; len < 300; len++) {
    for (let k = 0; k < 3; k++) {
      const data = randomBytes(len);
      const want = createHash('md5').update(data).digest('hex');
      if (md5(data).toString('hex') !== want) wrong.push(`md5 of ${len} bytes`);
      if (crc32(data) !== zlibCrc32(data)) wrong.push(`crc32 of ${len} bytes`);
    }
  }
  const big = randomBytes(100_000);
  if (md5(big).toString('hex') !== createHash('md5').update(big).digest('hex')) wrong.push('md5 of 100,000 bytes');
  t.same(wrong.slice(0, 5), [], 'every digest and checksum agrees');
  t.equal(md5(Buffer.from('')).toString('hex'), 'd41d8cd98f00b204e9800998ecf8427e', 'RFC 1321 test vector ""');
  t.equal(md5(Buffer.from('message digest')).toString('hex'), 'f96b697d7cb7938d525a2f31aaf161d0', 'RFC 1321 test vector "message digest"');
  t.equal(crc32(Buffer.from('123456789')), 0xcbf43926, 'the CRC-32 check value');
});

t.test('the default node ID is crc32(md5(hostname)) % 1024, as nsqd derives it', async (t) => {
  t.equal(defaultNodeId(), zlibCrc32(createHash('md5').update(hostname()).digest()) % 1024);
});
