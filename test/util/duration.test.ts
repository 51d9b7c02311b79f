import t from 'tap';
import { formatDuration, parseDuration } from '../../src/util/duration.js';
import { normalizeGoFlags } from '../../commands/flags/go-argv.js';

t.test('Go duration syntax', async (t) => {
  t.equal(parseDuration('90s'), 90_000);
  t.equal(parseDuration('1m30s'), 90_000);
  t.equal(parseDuration('250ms'), 250);
  t.equal(parseDuration('1.5h'), 5_400_000);
  t.equal(parseDuration('2h45m'), 9_900_000);
  t.equal(parseDuration('0'), 0);
  t.equal(parseDuration('-1s'), -1000);
  t.equal(parseDuration('1500us'), 1.5);
  t.throws(() => parseDuration('abc'), /invalid duration/);
  t.throws(() => parseDuration('10'), /missing unit/);
  t.throws(() => parseDuration(''), /invalid duration/);
  t.throws(() => parseDuration('1x'), /invalid duration/);
});

t.test('durations print as Go prints them', async (t) => {
  t.equal(formatDuration(60_000), '1m0s');
  t.equal(formatDuration(3_600_000), '1h0m0s');
  t.equal(formatDuration(250), '250ms');
  t.equal(formatDuration(90_500), '1m30.5s');
  t.equal(formatDuration(0), '0s');
  t.equal(formatDuration(2000), '2s');
});

t.test('Go single-dash long flags become double-dash', async (t) => {
  t.same(normalizeGoFlags(['-tcp-address=1:2', '-http-address', 'x', '--ok', '-n', '5', '-0', '-5', '--', '-raw']), [
    '--tcp-address=1:2',
    '--http-address',
    'x',
    '--ok',
    '-n',
    '5',
    '-0',
    '-5',
    '--',
    '-raw',
  ]);
});
