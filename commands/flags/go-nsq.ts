// go-nsq's Config options as nsq_to_http and nsq_to_nsq pass them on (--consumer-opt and
// --producer-opt, `<name>,<value>`): the consumer and connection settings are read here; the TLS,
// compression and auth ones are left for readTransportFlags; go-nsq's own tuning knobs that have
// no counterpart in our client are accepted with a note that they have no effect.

import type { ConsumerTuning } from '../../src/tools/relay/run.js';
import { GO_NSQ_OPTIONS } from './client.js';
import { badFlag, durationFlag, integerFlag } from './values.js';

type GoOptFlag = 'consumer-opt' | 'producer-opt';

export interface GoNsqSettings {
  tuning: ConsumerTuning;
  lookupdPollInterval?: number;
  userAgent?: string;
  /** options taken for compatibility that change nothing, to be said once at start */
  notes: string[];
  /** the command line with only the transport options left in the flag, for readTransportFlags */
  argv: Record<string, unknown>;
}

/** Reads one option's value; `label` names it in errors (`consumer-opt=max_attempts`). */
type Reader = (value: string, label: string) => Partial<Record<keyof ConsumerTuning | 'lookupdPollInterval' | 'userAgent', number | string>>;

const duration =
  (key: keyof ConsumerTuning | 'lookupdPollInterval', min = 0): Reader =>
  (v, label) => ({ [key]: durationFlag(label, v, min) });

const integer =
  (key: keyof ConsumerTuning, min: number, max: number): Reader =>
  (v, label) => ({ [key]: integerFlag(label, v, min, max) });

const text =
  (key: 'clientId' | 'hostname' | 'userAgent'): Reader =>
  (v) => ({ [key]: v });

/** go-nsq Config names we act on. */
const READERS: Record<string, Reader> = {
  max_in_flight: integer('maxInFlight', 1, 1_000_000),
  max_attempts: integer('maxAttempts', 0, 65535),
  default_requeue_delay: duration('requeueDelay'),
  max_backoff_duration: duration('maxBackoff'),
  msg_timeout: duration('msgTimeout'),
  heartbeat_interval: duration('heartbeatInterval', -1),
  dial_timeout: duration('connectTimeout', 1),
  lookupd_poll_interval: duration('lookupdPollInterval', 1),
  sample_rate: integer('sampleRate', 0, 99),
  output_buffer_size: integer('outputBufferSize', -1, 2 ** 31),
  output_buffer_timeout: duration('outputBufferTimeout', -1),
  client_id: text('clientId'),
  hostname: text('hostname'),
  user_agent: text('userAgent'),
};

/** go-nsq Config names that tune go-nsq's own machinery: accepted, no effect. */
const NO_EFFECT = new Set([
  'read_timeout',
  'write_timeout',
  'local_addr',
  'lookupd_poll_jitter',
  'low_rdy_idle_timeout',
  'low_rdy_timeout',
  'rdy_redistribute_interval',
  'rdy_redistribute_on_idle',
  'max_requeue_delay',
  'backoff_strategy',
  'backoff_multiplier',
]);

/** Every name --consumer-opt / --producer-opt takes, for help texts and errors. */
export const GO_NSQ_OPTION_NAMES = [...new Set([...Object.keys(READERS), ...Object.keys(GO_NSQ_OPTIONS)])];

/**
 * The commands that read their go-nsq options here (the program's middleware folds everyone
 * else's into the shared flags): to-http acts on the consumer settings, to-nsq keeps the source's
 * and the destinations' apart.
 */
export const READS_OWN_GO_OPTIONS: ReadonlySet<string> = new Set(['to-http', 'to-nsq']);

/** Consumer-only settings: in --producer-opt they change nothing (go-nsq shares one Config type). */
const CONSUMER_ONLY = new Set(['maxInFlight', 'maxAttempts', 'requeueDelay', 'maxBackoff', 'lookupdPollInterval', 'sampleRate']);

/** Reads the go-nsq options of `flag` (`--consumer-opt` or `--producer-opt`). */
export function readGoNsqOptions(argv: Record<string, unknown>, flag: GoOptFlag): GoNsqSettings {
  const raw = argv[flag];
  const values = raw === undefined ? [] : (Array.isArray(raw) ? raw : [raw]).map(String);
  const out: GoNsqSettings = { tuning: {}, notes: [], argv: { ...argv } };
  const transport: string[] = [];
  for (const opt of values) {
    const comma = opt.indexOf(',');
    const name = comma === -1 ? opt : opt.slice(0, comma);
    const value = comma === -1 ? 'true' : opt.slice(comma + 1);
    const reader = READERS[name];
    if (reader !== undefined) {
      const set = reader(value, `${flag}=${name}`);
      for (const [k, v] of Object.entries(set)) {
        if (flag === 'producer-opt' && CONSUMER_ONLY.has(k)) out.notes.push(`--${flag}=${name}: only a consumer setting, no effect on the destinations`);
        else if (k === 'lookupdPollInterval') out.lookupdPollInterval = v as number;
        else if (k === 'userAgent') out.userAgent = v as string;
        else (out.tuning as Record<string, unknown>)[k] = v;
      }
    } else if (NO_EFFECT.has(name)) {
      out.notes.push(`--${flag}=${name}: go-nsq tuning with no counterpart here, no effect`);
    } else if (name in GO_NSQ_OPTIONS) {
      transport.push(opt);
    } else {
      throw badFlag(flag, opt, `supported options are ${GO_NSQ_OPTION_NAMES.join(', ')} (and, with no effect, ${[...NO_EFFECT].join(', ')})`);
    }
  }
  out.argv[flag] = transport.length > 0 ? transport : undefined;
  return out;
}
