// The one error table: nsqd's codes with fatal/non-fatal, error frames read back into the same
// classes the server builds, unknown codes kept as sent, and E_BAD_MESSAGE's limits.

import t from 'tap';
import { badMessage, badMessageSize, E_BAD_MESSAGE, isFatalCode, isNonFatal, messageTooBig, NsqError, PROTOCOL_CODES, ProtocolError } from '../../src/protocol/errors.js';

t.test("nsqd's codes: only FIN, REQ and TOUCH failures leave the connection open", async (t) => {
  const nonFatal = Object.entries(PROTOCOL_CODES)
    .filter(([, f]) => !f)
    .map(([c]) => c);
  t.same(nonFatal.sort(), ['E_FIN_FAILED', 'E_REQ_FAILED', 'E_TOUCH_FAILED']);
  // nsqd/protocol_v2.go's fatal ones (NewFatalClientErr) and E_BAD_PROTOCOL from its IOLoop; no others
  t.equal(Object.keys(PROTOCOL_CODES).length, 18);
  for (const c of ['E_INVALID', 'E_BAD_PROTOCOL', 'E_BAD_BODY', 'E_BAD_TOPIC', 'E_BAD_CHANNEL', 'E_BAD_MESSAGE', 'E_PUB_FAILED', 'E_MPUB_FAILED', 'E_DPUB_FAILED', 'E_SUB_FAILED', 'E_IDENTIFY_FAILED', 'E_AUTH_DISABLED', 'E_AUTH_FAILED', 'E_AUTH_FIRST', 'E_UNAUTHORIZED']) {
    t.equal(isFatalCode(c), true, c);
  }
  t.equal(isFatalCode('E_SOMETHING_NEW'), true, 'an unknown code is fatal, as nsqd closes after any other error');
});

t.test('an error frame is read back into what the server built: code, text, fatal', async (t) => {
  for (const [code, fatal] of Object.entries(PROTOCOL_CODES)) {
    const sent = new ProtocolError(code, `${code.slice(2)} something failed: 12 > 3`);
    const got = ProtocolError.fromFrame(sent.frameText());
    t.ok(got instanceof NsqError && got instanceof ProtocolError, `${code}: classes`);
    t.equal(got.code, code);
    t.equal(got.desc, sent.desc);
    t.equal(got.message, sent.message, `${code}: the message is the frame text`);
    t.equal(got.fatal, fatal, `${code}: fatal is ${fatal}`);
    t.equal(isNonFatal(got), !fatal);
  }
});

t.test('codes from other servers are kept as sent', async (t) => {
  const e = ProtocolError.fromFrame('E_SOMETHING_NEW the server says so');
  t.equal(e.code, 'E_SOMETHING_NEW');
  t.equal(e.desc, 'the server says so');
  t.equal(e.message, 'E_SOMETHING_NEW the server says so');
  t.equal(e.fatal, true);
  const bare = ProtocolError.fromFrame('E_INVALID');
  t.equal(bare.code, 'E_INVALID');
  t.equal(bare.desc, '');
  t.equal(bare.message, 'E_INVALID');
  // the code is the first word, whatever it looks like
  t.equal(ProtocolError.fromFrame('not an E code').code, 'not');
  t.equal(isNonFatal(new NsqError('E_FIN_FAILED', 'a client-made error is not a frame')), false);
});

t.test("E_BAD_MESSAGE: the limit a message broke, from the server's wording (ours and Go nsqd's)", async (t) => {
  for (const verb of ['PUB', 'DPUB', 'MPUB']) {
    const e = ProtocolError.fromFrame(messageTooBig(verb, 2000, 1024).frameText());
    t.equal(e.code, E_BAD_MESSAGE);
    t.same(badMessage(e), { kind: 'too-big', size: 2000, limit: 1024 }, verb);
  }
  t.same(badMessage(ProtocolError.fromFrame('E_BAD_MESSAGE PUB message too big 5 > 4')), { kind: 'too-big', size: 5, limit: 4 }, "Go nsqd's text");
  t.same(badMessage(ProtocolError.fromFrame(badMessageSize('PUB', 0).frameText())), { kind: 'empty' });
  t.same(badMessage(ProtocolError.fromFrame(badMessageSize('MPUB', 0, 3).frameText())), { kind: 'empty' });
  t.same(badMessage(ProtocolError.fromFrame('E_BAD_MESSAGE MPUB invalid message(3) body size 0')), { kind: 'empty' }, "Go nsqd's MPUB text");
  t.equal(badMessage(ProtocolError.fromFrame(badMessageSize('PUB', -1).frameText())), null, 'a negative size is not an empty message');
  t.equal(badMessage(ProtocolError.fromFrame('E_BAD_MESSAGE MPUB failed to read message body')), null);
  t.equal(badMessage(ProtocolError.fromFrame('E_BAD_BODY MPUB message too big 5 > 4')), null, 'only E_BAD_MESSAGE');
  t.equal(badMessage(new Error('E_BAD_MESSAGE PUB message too big 5 > 4')), null, 'only error frames');
});
