// What `nsq pub` shows while it runs: a live line on a terminal, periodic lines with --progress,
// and the lines of their own (errors, the summary) printed above the live line.

const DEFAULTS = {
  ttyRefreshMs: 200,
  linesRefreshMs: 1000,
};

/** 'auto': a live line on a terminal only; 'always': lines even on a pipe (--progress); 'never': --quiet */
export type ProgressSetting = 'auto' | 'always' | 'never';

const SI = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

export function formatBytes(n: number): string {
  let i = 0;
  let v = n;
  while (v >= 1024 && i < SI.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(1)} ${SI[i]}`;
}

export const num = (n: number): string => Math.round(n).toLocaleString('en-US');

/**
 * The live line on a terminal (redrawn in place), periodic lines elsewhere with --progress, only
 * the summary when someone is typing the records on that terminal, or nothing.
 */
export class Progress {
  readonly #out: NodeJS.WriteStream;
  readonly #mode: 'tty' | 'lines' | 'summary' | 'off';
  #timer: NodeJS.Timeout | null = null;
  #shown = false;

  constructor(out: NodeJS.WriteStream, setting: ProgressSetting, typing: boolean) {
    this.#out = out;
    const tty = out.isTTY === true;
    if (setting === 'never') this.#mode = 'off';
    else if (tty) this.#mode = typing ? 'summary' : 'tty';
    else this.#mode = setting === 'always' ? 'lines' : 'off';
  }

  /** whether the summary is printed */
  get enabled(): boolean {
    return this.#mode !== 'off';
  }

  start(render: () => string): void {
    if (this.#mode === 'off' || this.#mode === 'summary') return;
    const tty = this.#mode === 'tty';
    this.#timer = setInterval(
      () => {
        if (tty) {
          this.#out.write(`\r\x1b[2K${render()}`);
          this.#shown = true;
        } else {
          this.#out.write(`${render()}\n`);
        }
      },
      tty ? DEFAULTS.ttyRefreshMs : DEFAULTS.linesRefreshMs,
    );
    this.#timer.unref();
  }

  /** A line of its own (an error, the summary), above the live line. */
  print(line: string): void {
    this.#clear();
    this.#out.write(`${line}\n`);
  }

  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    this.#clear();
  }

  #clear(): void {
    if (!this.#shown) return;
    this.#out.write('\r\x1b[2K');
    this.#shown = false;
  }
}
