// Client authorization against auth servers (nsqd's --auth-http-address): the query, the answer's
// validation, the permission checks for a topic/channel, and the answers cached for the HTTP API
// (--auth-http-api). Patterns are regular expressions matched unanchored, as nsqd's
// regexp.MatchString does ("foo" also allows "foobar").

import type { NsqdOptions } from './options.js';

export interface AuthQuery {
  remoteIp: string;
  tls: boolean;
  commonName: string;
  secret: string;
}

export interface AuthHttpOptions {
  /** 'get' or 'post' (nsqd sends the same query string either way) */
  method: string;
  connectTimeout: number;
  requestTimeout: number;
}

/** The node's settings for asking its auth servers. */
export function authHttpOptions(o: NsqdOptions): AuthHttpOptions {
  return { method: o.authHttpRequestMethod, connectTimeout: o.httpClientConnectTimeout, requestTimeout: o.httpClientRequestTimeout };
}

const PERMISSIONS = new Set(['subscribe', 'publish']);

/** Pattern sources taken to grant every name: a pattern cannot be proven to match everything. */
const MATCH_ALL = new Set(['(?:)', '.*', '^.*', '.*$', '^.*$']);
const matchesAll = (re: RegExp): boolean => MATCH_ALL.has(re.source);

class Authorization {
  constructor(
    readonly topic: RegExp,
    readonly channels: RegExp[],
    readonly subscribe: boolean,
    readonly publish: boolean,
  ) {}

  /** `channel` '' means a publish. */
  allows(topic: string, channel: string): boolean {
    if (!(channel === '' ? this.publish : this.subscribe)) return false;
    if (!this.topic.test(topic)) return false;
    for (const c of this.channels) if (c.test(channel)) return true;
    return false;
  }

  /** Both permissions on the topic and channel: what an HTTP admin route needs. */
  administers(topic: string, channel: string): boolean {
    return this.publish && this.subscribe && this.topic.test(topic) && this.channels.some((c) => c.test(channel));
  }

  /** Both permissions on every topic and channel (`.*`/`.*`): what /config needs. */
  get grantsAll(): boolean {
    return this.publish && this.subscribe && matchesAll(this.topic) && this.channels.some(matchesAll);
  }
}

/** What an auth server granted one secret, until `expires` (Date.now() ms). */
export class AuthState {
  constructor(
    readonly identity: string,
    readonly identityUrl: string,
    readonly expires: number,
    readonly authorizations: Authorization[],
  ) {}

  get expired(): boolean {
    return this.expires < Date.now();
  }

  allows(topic: string, channel: string): boolean {
    for (const a of this.authorizations) if (a.allows(topic, channel)) return true;
    return false;
  }

  allowsAdmin(topic: string, channel: string): boolean {
    return this.authorizations.some((a) => a.administers(topic, channel));
  }

  get allowsAll(): boolean {
    return this.authorizations.some((a) => a.grantsAll);
  }
}

/** One auth server's failure; `status`: the HTTP status it answered with (0: no usable answer). */
class BadAnswer extends Error {
  constructor(
    message: string,
    readonly status = 0,
  ) {
    super(message);
  }
}

/**
 * No auth server granted anything. `refused`: one of them answered 401 or 403, so the secret is
 * unknown to it (otherwise none could be asked, or none answered usably).
 */
export class AuthQueryError extends Error {
  readonly code = 'E_AUTH_FAILED';
  constructor(
    message: string,
    readonly refused: boolean,
  ) {
    super(message);
  }
}

function compile(pattern: string, what: string): RegExp {
  try {
    return new RegExp(pattern, 'u');
  } catch (err) {
    throw new BadAnswer(`unable to compile ${what} ${JSON.stringify(pattern)} ${(err as Error).message}`);
  }
}

function stringField(o: Record<string, unknown>, key: string): string {
  const v = o[key];
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw new BadAnswer(`json: ${key} is not a string`);
  return v;
}

function stringList(o: Record<string, unknown>, key: string): string[] {
  const v = o[key];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) throw new BadAnswer(`json: ${key} is not a list of strings`);
  return v as string[];
}

/** Validates an auth server's JSON answer, as nsqd does: known permissions, patterns that compile, ttl > 0. */
export function parseAuthAnswer(data: unknown, now = Date.now()): AuthState {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new BadAnswer('json: not an object');
  const o = data as Record<string, unknown>;
  const ttl = o['ttl'] ?? 0;
  if (typeof ttl !== 'number' || !Number.isInteger(ttl)) throw new BadAnswer('json: ttl is not an integer');
  const list = o['authorizations'] ?? [];
  if (!Array.isArray(list)) throw new BadAnswer('json: authorizations is not a list');
  const auths = list.map((raw: unknown) => {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new BadAnswer('json: authorization is not an object');
    const a = raw as Record<string, unknown>;
    const perms = stringList(a, 'permissions');
    for (const p of perms) if (!PERMISSIONS.has(p)) throw new BadAnswer(`unknown permission ${p}`);
    const topic = compile(stringField(a, 'topic'), 'topic');
    const channels = stringList(a, 'channels').map((c) => compile(c, 'channel'));
    return new Authorization(topic, channels, perms.includes('subscribe'), perms.includes('publish'));
  });
  if (ttl <= 0) throw new BadAnswer(`invalid TTL ${ttl} (must be >0)`);
  return new AuthState(stringField(o, 'identity'), stringField(o, 'identity_url'), now + ttl * 1000, auths);
}

/** The URL nsqd asks: a bare host:port gets http://…/auth, a full URL is used as it is. */
export function authEndpoint(address: string, q: AuthQuery): string {
  const params = new URLSearchParams({ remote_ip: q.remoteIp, tls: String(q.tls), secret: q.secret, common_name: q.commonName });
  return address.includes('://') ? `${address}?${params}` : `http://${address}/auth?${params}`;
}

async function queryOne(address: string, q: AuthQuery, o: AuthHttpOptions): Promise<AuthState> {
  // one deadline for connect + answer: fetch has no separate connect timeout
  const res = await fetch(authEndpoint(address, q), { method: o.method === 'post' ? 'POST' : 'GET', signal: AbortSignal.timeout(o.connectTimeout + o.requestTimeout) });
  const text = await res.text();
  if (res.status !== 200) throw new BadAnswer(`got response ${res.status} ${res.statusText} ${JSON.stringify(text)}`, res.status);
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new BadAnswer(`invalid JSON ${(err as Error).message}`);
  }
  return parseAuthAnswer(data);
}

/**
 * Asks the auth servers, starting at a random one, until one answers; the error names every failure
 * (it is logged, never sent to the client).
 */
export async function queryAnyAuthd(addresses: readonly string[], q: AuthQuery, o: AuthHttpOptions): Promise<AuthState> {
  const n = addresses.length;
  const start = Math.floor(Math.random() * n);
  const failures: string[] = [];
  let refused = false;
  for (let i = 0; i < n; i++) {
    const address = addresses[(start + i) % n]!;
    try {
      return await queryOne(address, q, o);
    } catch (err) {
      if (err instanceof BadAnswer && (err.status === 401 || err.status === 403)) refused = true;
      const cause = (err as { cause?: { code?: string } }).cause;
      failures.push(`failed to auth against ${address} - ${(err as Error).message}${cause?.code ? ` (${cause.code})` : ''}`);
    }
  }
  throw new AuthQueryError(failures.join('; '), refused);
}

/** setTimeout's longest delay */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Keeps a long-lived grant (a replication link's) fresh, as nsqd asks again once an authorization
 * expires: at `expires`, `renew` asks the auth servers and resolves to the new expiry; a refusal or
 * a failure calls `lost`, once. Returns the function that stops it.
 */
export function keepGranted(expires: number, renew: () => Promise<number>, lost: (err: Error) => void): () => void {
  let timer: NodeJS.Timeout | null = null;
  let stopped = false;
  const arm = (at: number): void => {
    timer = setTimeout(() => {
      timer = null;
      renew().then(
        (next) => {
          if (!stopped) arm(next);
        },
        (err: Error) => {
          if (!stopped) lost(err);
        },
      );
      // a TTL beyond setTimeout's range (24.8 days) is asked about early, not at once
    }, Math.min(MAX_TIMER_MS, Math.max(0, at - Date.now())));
    timer.unref();
  };
  arm(expires);
  return () => {
    stopped = true;
    if (timer !== null) clearTimeout(timer);
  };
}

/** Most answers the HTTP API keeps: a flood of distinct secrets cannot grow memory. */
const CACHE_MAX = 1024;

/**
 * The HTTP API's auth answers, kept per query (secret, remote address, TLS, certificate name: the
 * auth server may answer differently for each) until their TTL ends, so a `/pub` loop does not
 * ask the auth server every time; concurrent requests share one query. Failures are not kept.
 */
export class AuthCache {
  readonly #entries = new Map<string, AuthState | Promise<AuthState>>();
  readonly #addresses: () => readonly string[];
  readonly #options: () => AuthHttpOptions;
  readonly #max: number;

  constructor(addresses: () => readonly string[], options: () => AuthHttpOptions, max = CACHE_MAX) {
    this.#addresses = addresses;
    this.#options = options;
    this.#max = max;
  }

  get size(): number {
    return this.#entries.size;
  }

  get(q: AuthQuery): Promise<AuthState> {
    const key = `${q.secret}\n${q.remoteIp}\n${q.tls}\n${q.commonName}`;
    const found = this.#entries.get(key);
    if (found !== undefined) {
      if (!(found instanceof AuthState)) return found;
      if (!found.expired) return Promise.resolve(found);
      this.#entries.delete(key);
    }
    const pending = queryAnyAuthd(this.#addresses(), q, this.#options()).then(
      (state) => {
        if (this.#entries.get(key) === pending) this.#entries.set(key, state);
        return state;
      },
      (err: unknown) => {
        if (this.#entries.get(key) === pending) this.#entries.delete(key);
        throw err;
      },
    );
    // the oldest entry makes room (Map keeps insertion order)
    if (this.#entries.size >= this.#max) this.#entries.delete(this.#entries.keys().next().value!);
    this.#entries.set(key, pending);
    return pending;
  }
}
