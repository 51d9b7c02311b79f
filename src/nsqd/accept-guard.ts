// Out of file descriptors, libuv accepts and at once closes every pending connection without telling
// Node (its "EMFILE trick"), so a server at its `ulimit -n` refuses clients silently. This guard
// refuses them itself a little before the table is full (net.Server.maxConnections, whose refusals
// Node reports as 'drop'), logs the first refusal of a burst and how many followed once accepting
// works again, as nsqd logs its accept failures. One guard per process: descriptors are shared.

import { readdirSync, readFileSync } from 'node:fs';
import type { Server, Socket } from 'node:net';

/** Descriptors kept free for what is not a connection (data files, DNS, a log line), in both senses. */
const FD_MARGIN = 16;
/** An exact count is taken at least this often while connections arrive (files open meanwhile). */
const RECOUNT_MS = 1000;

export interface GuardLogger {
  warn(msg: string): void;
  info(msg: string): void;
}

interface Guarded {
  server: Server;
  label: string;
  logger: GuardLogger;
  refused: number;
}

/** The soft RLIMIT_NOFILE, where the system tells it (Linux /proc); null: unknown or unlimited. */
function readFdLimit(): number | null {
  try {
    const m = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'latin1'));
    return m === null ? null : Number(m[1]);
  } catch {
    return null;
  }
}

function countOpenFds(): number {
  // readdir holds one descriptor of its own while it reads
  return readdirSync('/proc/self/fd').length - 1;
}

class AcceptGuard {
  readonly #limit = readFdLimit();
  readonly #guarded: Guarded[] = [];
  #connections = 0;
  /** Open descriptors that are not connections, as of the last exact count. */
  #others = 0;
  #countedAt = -Infinity;
  #refusing = false;

  add(server: Server, label: string, logger: GuardLogger): void {
    const g: Guarded = { server, label, logger, refused: 0 };
    this.#guarded.push(g);
    server.on('connection', (socket: Socket) => {
      this.#connections++;
      socket.once('close', () => this.#closed());
      this.#check();
    });
    server.on('drop', () => this.#refuse(g, 'EMFILE: too many open files'));
    server.on('error', (err: NodeJS.ErrnoException) => {
      // libuv reports EMFILE itself when its spare descriptor is gone too
      if (err.code === 'EMFILE' || err.code === 'ENFILE') this.#refuse(g, `${err.code}: ${err.message}`);
    });
    server.once('close', () => this.#guarded.splice(this.#guarded.indexOf(g), 1));
  }

  #free(now: number): number {
    const limit = this.#limit!;
    if (now - this.#countedAt >= RECOUNT_MS || limit - this.#others - this.#connections < 4 * FD_MARGIN) {
      this.#others = countOpenFds() - this.#connections;
      this.#countedAt = now;
    }
    return limit - this.#others - this.#connections;
  }

  #check(): void {
    if (this.#limit === null || this.#refusing) return;
    if (this.#free(Date.now()) >= FD_MARGIN) return;
    this.#refusing = true;
    // every listener stops at what it has: the next connection is a 'drop'
    for (const g of this.#guarded) g.server.maxConnections = (g.server as unknown as { _connections: number })._connections;
  }

  #closed(): void {
    this.#connections--;
    if (!this.#refusing || this.#free(Date.now()) < 2 * FD_MARGIN) return;
    this.#refusing = false;
    for (const g of this.#guarded) {
      g.server.maxConnections = Infinity;
      if (g.refused > 0) g.logger.info(`${g.label}: accepting connections again (${g.refused} refused while out of file descriptors)`);
      g.refused = 0;
    }
  }

  #refuse(g: Guarded, why: string): void {
    if (g.refused++ > 0) return;
    const inUse = this.#limit === null ? '' : ` (${this.#others + this.#connections} of ${this.#limit} file descriptors in use, the last ${FD_MARGIN} kept for files)`;
    g.logger.warn(`${g.label}: accept error - ${why}${inUse}; refusing new connections until some close`);
  }
}

let guard: AcceptGuard | null = null;

/** Logs and bounds `server`'s refusals at the descriptor limit (see above). */
export function guardAccepts(server: Server, label: string, logger: GuardLogger): void {
  guard ??= new AcceptGuard();
  guard.add(server, label, logger);
}
