import t from 'tap';
import { messageIdToString, parseMessageId, writeMessageId } from '../../src/protocol/message-id.js';
import { isValidChannelName, isValidTopicName, isEphemeral } from '../../src/protocol/names.js';
import { GuidFactory } from '../../src/nsqd/guid.js';

t.test('IDs round-trip through 16 lowercase hex characters', async (t) => {
  const samples = [0, 1, 0xffffffff, 0x100000000, 2 ** 53 - 1, 123456789012345];
  for (const id of samples) {
    const s = messageIdToString(id);
    t.match(s, /^[0-9a-f]{16}$/);
    t.equal(parseMessageId(Buffer.from(s), 0), id, `round-trip ${id}`);
    t.equal(BigInt('0x' + s), BigInt(id), 'the hex is the number');
  }
  const buf = Buffer.alloc(20, 32);
  writeMessageId(buf, 2, 255);
  t.equal(buf.toString('latin1', 2, 18), '00000000000000ff');
});

t.test('parse refuses what this server never issued', async (t) => {
  t.equal(parseMessageId(Buffer.from('000000000000000G'), 0), -1, 'non-hex');
  t.equal(parseMessageId(Buffer.from('00000000000000FF'), 0), -1, 'uppercase');
  t.equal(parseMessageId(Buffer.from('ffffffffffffffff'), 0), -1, 'beyond 2^53');
});

t.test('the GUID factory counts up from the clock and stays below 2^53', async (t) => {
  const g = new GuidFactory();
  const a = g.next();
  const b = g.next();
  t.equal(b, a + 1);
  t.ok(a < 2 ** 53);
  const later = new GuidFactory(Date.now() + 1000);
  t.ok(later.next() > b, 'a later start issues larger IDs (restarts never reuse IDs)');
});

t.test('names follow nsqd rules', async (t) => {
  t.ok(isValidTopicName('a'));
  t.ok(isValidTopicName('a.b-c_D9'));
  t.ok(isValidTopicName('x'.repeat(64)));
  t.notOk(isValidTopicName('x'.repeat(65)));
  t.notOk(isValidTopicName(''));
  t.notOk(isValidTopicName('a b'));
  t.notOk(isValidTopicName('a/b'));
  t.ok(isValidChannelName('c#ephemeral'));
  t.notOk(isValidChannelName('#ephemeral'), 'suffix alone is not a name');
  t.notOk(isValidChannelName('x'.repeat(55) + '#ephemeral'), 'the suffix counts toward 64');
  t.ok(isValidChannelName('x'.repeat(54) + '#ephemeral'));
  t.notOk(isValidChannelName('a#ephemeral#ephemeral'));
  t.ok(isEphemeral('c#ephemeral'));
  t.notOk(isEphemeral('c'));
});
