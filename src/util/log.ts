// Levelled logging in nsqd's shape: "[nsqd] 2026/11/25 14:00:00.000000 INFO: message" on stderr.

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'fatal'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const LEVEL_NUM: Record<LogLevel, number> = { debug: 1, info: 2, warn: 3, error: 4, fatal: 5 };
const LEVEL_TAG: Record<LogLevel, string> = { debug: 'DEBUG', info: 'INFO', warn: 'WARNING', error: 'ERROR', fatal: 'FATAL' };

export function isLogLevel(s: string): s is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(s);
}

export type LogSink = (line: string) => void;

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

function stamp(d: Date): string {
  return `${d.getFullYear()}/${pad(d.getMonth() + 1)}/${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}000`;
}

export type LogFormat = 'text' | 'json';

export class Logger {
  #level: number;
  #prefix: string;
  #sink: LogSink;
  #json = false;

  constructor(level: LogLevel = 'info', prefix = '[nsqd] ', sink: LogSink = (line) => process.stderr.write(line + '\n')) {
    this.#level = LEVEL_NUM[level];
    this.#prefix = prefix;
    this.#sink = sink;
  }

  /** json: one object a line, {"time","level","component","msg"}, for log collectors */
  setFormat(format: LogFormat): void {
    this.#json = format === 'json';
  }

  setLevel(level: LogLevel): void {
    this.#level = LEVEL_NUM[level];
  }

  enabled(level: LogLevel): boolean {
    return LEVEL_NUM[level] >= this.#level;
  }

  log(level: LogLevel, msg: string): void {
    if (LEVEL_NUM[level] < this.#level) return;
    if (this.#json) {
      const component = this.#prefix.replace(/^\[|\]\s*$/g, '').trim();
      this.#sink(JSON.stringify({ time: new Date().toISOString(), level, component, msg }));
      return;
    }
    this.#sink(`${this.#prefix}${stamp(new Date())} ${LEVEL_TAG[level]}: ${msg}`);
  }

  debug(msg: string): void {
    this.log('debug', msg);
  }
  info(msg: string): void {
    this.log('info', msg);
  }
  warn(msg: string): void {
    this.log('warn', msg);
  }
  error(msg: string): void {
    this.log('error', msg);
  }
}
