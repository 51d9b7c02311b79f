import t from 'tap';
import { parseToml } from '../../src/util/toml.js';

t.test('the TOML nsqd config files use', async (t) => {
  const text = `# nsqd.cfg
tcp_address = "0.0.0.0:4150"   # trailing comment
mem_queue_size = 10_000
e2e_processing_latency_percentiles = [1.0, 0.99,
  0.95]
snappy = true
log_prefix = '[nsqd] '
nsqlookupd_tcp_addresses = [
  "a:4160",  # first
  "b:4160",
]
escaped = "tab\\there"
`;
  t.same(parseToml(text), {
    tcp_address: '0.0.0.0:4150',
    mem_queue_size: 10000,
    e2e_processing_latency_percentiles: [1, 0.99, 0.95],
    snappy: true,
    log_prefix: '[nsqd] ',
    nsqlookupd_tcp_addresses: ['a:4160', 'b:4160'],
    escaped: 'tab\there',
  });
});

t.test('mistakes are reported with file and line', async (t) => {
  t.throws(() => parseToml('a = "x"\nb = unquoted\n', 'nsqd.cfg'), /^nsqd\.cfg:2: cannot read value "unquoted" \(strings need quotes\)$/);
  t.throws(() => parseToml('a = "open\n', 'f'), /^f:1: unterminated string$/);
  t.throws(() => parseToml('[section]\n', 'f'), /tables/);
  t.throws(() => parseToml('just words\n', 'f'), /^f:1: expected key = value$/);
  t.throws(() => parseToml('a = [1, 2\n', 'f'), /expected , or \]/);
  t.throws(() => parseToml('a = 1 2\n', 'f'), /unexpected text after the value/);
});
