// `nsq to-http` (also `nsq_to_http`): nsq_to_http 1.3's flags, read into ToHttpOptions; the work
// is in src/tools/to-http.ts.

import { validateHeaderName, validateHeaderValue } from 'node:http';
import type { CommandModule } from 'yargs';
import { isValidChannelName, isValidTopicName } from '../src/protocol/names.js';
import { Logger } from '../src/util/log.js';
import { MODES } from '../src/tools/relay/host-pool.js';
import { TO_HTTP_DEFAULTS, type ToHttpMode, type ToHttpOptions } from '../src/tools/to-http/options.js';
import { NSQ_VERSION, packageVersion } from '../src/version.js';
import { authFlag, clientFlags, readClientFlags, readTransportFlags, transportFlags } from './flags/client.js';
import { GO_NSQ_OPTION_NAMES, readGoNsqOptions } from './flags/go-nsq.js';
import { badFlag, choiceFlag, durationFlag, integerFlag, lastValue, numberFlag, POSITIVE, usageError, valueOption } from './flags/values.js';

const G = 'nsq_to_http options:';
const TO_HTTP_MODES: readonly ToHttpMode[] = [...MODES, 'multicast'];

const HELP = `Every message goes to one endpoint (--mode round-robin, or hostpool: round-robin
over the endpoints that did not just fail; a failed one is tried again after 30s, then
longer, up to 15m; epsilon-greedy picks as hostpool does) or to every endpoint
(--mode=multicast: what nsq_to_http 1.3 does for any other --mode value).

A message is finished only after its endpoint (with multicast: every endpoint) answered
2xx. Any other answer, an error or --http-client-request-timeout requeues it, after
default_requeue_delay (90s) times its attempts, and the consumer backs off (up to
max_backoff_duration, 2m): nothing is lost while an endpoint is down. With multicast, the
endpoints that had answered get the message again. Both delays are go-nsq options:
  --consumer-opt=default_requeue_delay,5s --consumer-opt=max_backoff_duration,30s
It never gives up on a message unless --consumer-opt=max_attempts,N is given (go-nsq's
default is 5: nsq_to_http drops a message after 5 failed attempts).

--consumer-opt takes these go-nsq options: ${GO_NSQ_OPTION_NAMES.join(', ')};
go-nsq's own tuning (read_timeout, backoff_strategy, ...) is accepted with no effect.

SIGINT/SIGTERM: RDY 0 and CLS, messages waiting for a request slot are requeued at once, the
requests under way get up to --http-client-request-timeout to be answered (then FIN or
REQ), exit 0. It exits 1 when no nsqd can be reached at start.`;

/** A repeatable flag's values as given (URLs and headers may hold commas). */
function strings(v: unknown): string[] {
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).map(String);
}

/** `key: value` (Go's --header), checked as Node will send it. */
export function parseHeaders(raw: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const h of raw) {
    const colon = h.indexOf(':');
    const key = colon === -1 ? '' : h.slice(0, colon).trim();
    const value = colon === -1 ? '' : h.slice(colon + 1).trim();
    if (key === '' || value === '') throw badFlag('header', h, "want 'key: value'");
    try {
      validateHeaderName(key);
      validateHeaderValue(key, value);
    } catch (err) {
      throw badFlag('header', h, (err as Error).message);
    }
    out[key] = value;
  }
  return out;
}

function httpUrl(flag: string, url: string): void {
  let u: URL;
  try {
    u = new URL(url.replace('%s', 'x'));
  } catch {
    throw badFlag(flag, url, 'not a URL');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw badFlag(flag, url, 'want an http:// or https:// URL');
}

/** The command line → ToHttpOptions, and notes about options that change nothing. */
export function toHttpOptions(argv: Record<string, unknown>): { options: ToHttpOptions; notes: string[] } {
  const d = TO_HTTP_DEFAULTS;
  const go = readGoNsqOptions(argv, 'consumer-opt');
  const topic = argv['topic'] === undefined ? '' : lastValue(argv['topic']);
  if (topic === '') throw usageError('--topic is required');
  if (!isValidTopicName(topic)) throw badFlag('topic', topic, 'not a valid topic name');
  const channel = argv['channel'] === undefined ? d.channel : lastValue(argv['channel']);
  if (!isValidChannelName(channel)) throw badFlag('channel', channel, 'not a valid channel name');

  const gets = strings(argv['get']);
  const posts = strings(argv['post']);
  if (gets.length === 0 && posts.length === 0) throw usageError('--get or --post is required');
  if (gets.length > 0 && posts.length > 0) throw usageError('use --get or --post, not both');
  for (const g of gets) {
    if (g.split('%s').length !== 2) throw badFlag('get', g, 'want a URL with one %s (replaced by the message, query-escaped)');
    httpUrl('get', g);
  }
  for (const p of posts) httpUrl('post', p);

  let contentType = d.contentType;
  if (argv['content-type'] !== undefined) {
    contentType = lastValue(argv['content-type']);
    if (posts.length === 0) throw usageError('--content-type is only used with --post');
    if (contentType === '') throw usageError('--content-type requires a value when used');
  }
  const mode = argv['mode'] === undefined ? d.mode : choiceFlag('mode', argv['mode'], TO_HTTP_MODES);
  const sample = argv['sample'] === undefined ? d.sample : numberFlag('sample', argv['sample'], 0);
  if (sample > 1) throw badFlag('sample', lastValue(argv['sample']), 'want a number from 0.0 to 1.0');

  const client = readClientFlags(go.argv, 'to_http', packageVersion());
  const userAgent = typeof argv['user-agent'] === 'string' ? argv['user-agent'] : undefined;
  const headers: Record<string, string> = { 'User-Agent': userAgent ?? `nsq_to_http v${NSQ_VERSION}` };
  if (posts.length > 0) headers['Content-Type'] = contentType;
  // --header comes last: it may replace User-Agent and Content-Type, as in nsq_to_http (names are case-blind)
  for (const [key, value] of Object.entries(parseHeaders(strings(argv['header'])))) {
    for (const k of Object.keys(headers)) if (k.toLowerCase() === key.toLowerCase()) delete headers[k];
    headers[key] = value;
  }

  const options: ToHttpOptions = {
    topic,
    channel,
    nsqdTcpAddresses: client.nsqdTcpAddresses,
    lookupdHttpAddresses: client.lookupdHttpAddresses,
    lookupdPollInterval: argv['lookupd-poll-interval'] === undefined ? (go.lookupdPollInterval ?? client.lookupdPollInterval) : client.lookupdPollInterval,
    userAgent: userAgent ?? go.userAgent ?? client.userAgent,
    transport: readTransportFlags(go.argv),
    authSecret: client.authSecret,
    consumer: { ...go.tuning, maxInFlight: argv['max-in-flight'] === undefined ? (go.tuning.maxInFlight ?? d.maxInFlight) : integerFlag('max-in-flight', argv['max-in-flight'], 1) },
    method: posts.length > 0 ? 'POST' : 'GET',
    urls: [...new Set(posts.length > 0 ? posts : gets)],
    headers,
    mode,
    concurrency: argv['n'] === undefined ? d.concurrency : integerFlag('n', argv['n'], 1, 100_000),
    sample,
    connectTimeout: argv['http-client-connect-timeout'] === undefined ? d.connectTimeout : durationFlag('http-client-connect-timeout', argv['http-client-connect-timeout'], POSITIVE),
    requestTimeout: argv['http-client-request-timeout'] === undefined ? d.requestTimeout : durationFlag('http-client-request-timeout', argv['http-client-request-timeout'], POSITIVE),
    statusEvery: argv['status-every'] === undefined ? d.statusEvery : integerFlag('status-every', argv['status-every'], 0),
  };
  return { options, notes: go.notes };
}

export const toHttp: CommandModule = {
  command: 'to-http',
  describe: 'GET or POST every message of a topic to HTTP endpoints, at least once (nsq_to_http)',
  builder: (y) =>
    transportFlags(authFlag(clientFlags(y, { tcp: true, poll: true, userAgent: true })), 'consumer-opt')
      .usage('nsq to-http --topic=<topic> (--post=<url> | --get=<url with %s>) [options]\n\nSends every message of a topic to HTTP endpoints, finishing it once the endpoint answered 2xx.')
      .parserConfiguration({ 'duplicate-arguments-array': true })
      .option('consumer-opt', { describe: 'go-nsq option as <name>,<value> (may be given multiple times): max_attempts, default_requeue_delay, max_backoff_duration, tls_v1, ... (see below)' })
      .option('user-agent', { describe: `User-Agent of the HTTP requests and of the IDENTIFY to nsqd [default: nsq_to_http v${NSQ_VERSION} to the endpoints, nsq-to_http/<version> to nsqd]` })
      .option('topic', { type: 'string', describe: 'nsq topic [required]', group: G })
      .option('channel', { type: 'string', describe: `nsq channel [default: ${TO_HTTP_DEFAULTS.channel}]`, group: G })
      .option('post', { type: 'string', array: true, nargs: 1, describe: 'HTTP address to make a POST request to; the message is the body (may be given multiple times)', group: G })
      .option('get', { type: 'string', array: true, nargs: 1, describe: "HTTP address to make a GET request to; '%s' is replaced by the message, query-escaped (may be given multiple times)", group: G })
      .option('content-type', { type: 'string', describe: `the Content-Type of POST requests [default: ${TO_HTTP_DEFAULTS.contentType}]`, group: G })
      .option('header', { type: 'string', array: true, nargs: 1, describe: "custom header for HTTP requests, 'key: value' (may be given multiple times)", group: G })
      .option('mode', { type: 'string', describe: `round-robin, hostpool, epsilon-greedy (one endpoint per message) or multicast (every endpoint) [default: ${TO_HTTP_DEFAULTS.mode}]`, group: G })
      .option('n', valueOption('number', { describe: `number of concurrent requests [default: ${TO_HTTP_DEFAULTS.concurrency}]`, group: G }))
      .option('max-in-flight', valueOption('number', { describe: `max number of messages to allow in flight [default: ${TO_HTTP_DEFAULTS.maxInFlight}]`, group: G }))
      .option('sample', valueOption('number', { describe: 'fraction of messages to send (0.0-1.0); the others are finished unsent [default: 1]', group: G }))
      .option('http-client-connect-timeout', valueOption('duration', { describe: 'timeout for HTTP connect [default: 2s]', group: G }))
      .option('http-client-request-timeout', valueOption('duration', { describe: 'timeout for HTTP request [default: 20s]', group: G }))
      .option('status-every', valueOption('number', { describe: `the # of requests between logging status (per endpoint), 0 disables [default: ${TO_HTTP_DEFAULTS.statusEvery}]`, group: G }))
      .example("$0 to-http --topic=events --post='http://127.0.0.1:8080/ingest'", 'POST every message of "events"')
      .example("$0 to-http --topic=events --get='http://127.0.0.1:8080/hit?msg=%s' --mode=round-robin --get='http://127.0.0.1:8081/hit?msg=%s'", 'GET, alternating two endpoints')
      .epilog(HELP),
  handler: async (argv) => {
    const { options, notes } = toHttpOptions(argv as Record<string, unknown>);
    const logger = new Logger('info', '[nsq_to_http] ');
    for (const n of notes) logger.warn(n);
    const { runToHttp } = await import('../src/tools/to-http.js');
    await runToHttp(options, logger);
  },
};
