// The dashboard's alerts (issue 19): what an operator should look at now, as rules over the model
// (plain TS, tested without React). Each is a header line in words with a marker in front, so it
// reads the same without colour (NO_COLOR): `!` for a warning, `!!` for trouble.

import type { HistoryRing } from './chart.js';
import type { TopModel } from './model.js';
import type { Level } from './replication.js';

/** an ordered channel's head delivered this many times is a stuck line (docs/ordered-channels.md) */
export const STUCK_HEAD_ATTEMPTS = 5;
/** requeues above this share of what a channel delivers are a warning */
export const REQUEUE_SHARE = 0.2;

/** a rate is rising when its last sample is above this many times the mean of the samples before it */
export const RISING_FACTOR = 1.5;
/** the samples before the last that a trend is taken over */
export const TREND_WINDOW = 5;

/**
 * Whether a rate rises: its newest sample is above 0 and above RISING_FACTOR × the mean of the
 * TREND_WINDOW samples before it (a rate that starts from nothing rises). `before` is that mean.
 */
export function trend(ring: HistoryRing | undefined): { rising: boolean; before: number } {
  const v = ring?.last(TREND_WINDOW + 1) ?? [];
  if (v.length < 2) return { rising: false, before: 0 };
  const last = v[v.length - 1]!;
  let sum = 0;
  for (let i = 0; i < v.length - 1; i++) sum += v[i]!;
  const before = sum / (v.length - 1);
  return { rising: last > 0 && last > RISING_FACTOR * before, before };
}

export interface Alert {
  key: string;
  level: Level;
  text: string;
}

const mark = (level: Level, text: string): string => `${level === 'bad' ? '!!' : '!'} ${text}`;

/** Alerts about nodes that answer and about topics and channels; a node that is down is the header's own line. */
export function alerts(model: TopModel): Alert[] {
  const out: Alert[] = [];
  const add = (key: string, level: Level, text: string): void => {
    out.push({ key, level, text: mark(level, text) });
  };
  for (const n of model.nodes) {
    if (n.up && n.health !== undefined && n.health !== 'OK') add(`nok ${n.address}`, 'bad', `${n.address} ${n.health.startsWith('NOK') ? n.health : `NOK: ${n.health}`}`);
  }
  for (const t of model.topics()) {
    if (t.paused && t.inRate > 0) add(`paused ${t.name}`, 'warn', `${t.name}: paused, and its depth grows (${fmt(t.inRate)}/s in)`);
    else if (t.stalled && t.channels.length === 0) add(`stalled ${t.name}`, 'warn', `${t.name}: backlog grows with no channel to take it (depth ${t.depth})`);
    for (const c of t.channels) {
      const name = `${c.topic}/${c.name}`;
      if (c.stalled) add(`stalled ${name}`, 'warn', `${name}: backlog grows with no consumer (depth ${c.depth})`);
      const series = model.channelSeries(c.topic, c.name);
      if (c.timeoutRate > 0) {
        const tr = trend(series?.timeoutRate);
        if (tr.rising) add(`timeouts ${name}`, 'bad', `${name}: timeouts rising (${fmt(c.timeoutRate)}/s, was ${fmt(tr.before)}/s)`);
        else add(`timeouts ${name}`, 'warn', `${name}: messages time out (${fmt(c.timeoutRate)}/s)`);
      }
      if (c.requeueRate > 0 && c.requeueRate > REQUEUE_SHARE * (c.outRate + c.requeueRate)) {
        const tr = trend(series?.requeueRate);
        const share = `${Math.round((100 * c.requeueRate) / (c.outRate + c.requeueRate))} % of deliveries requeued`;
        if (tr.rising) add(`requeues ${name}`, 'bad', `${name}: ${share}, rising (${fmt(c.requeueRate)}/s, was ${fmt(tr.before)}/s)`);
        else add(`requeues ${name}`, 'warn', `${name}: ${share} (${fmt(c.requeueRate)}/s)`);
      }
      if (c.ordered && c.headAttempts >= STUCK_HEAD_ATTEMPTS) add(`head ${name}`, 'warn', `${name}: ordered channel's head ${c.headId} stuck, delivered ${c.headAttempts} times (nothing after it goes out until it is finished)`);
    }
  }
  return out;
}

function fmt(rate: number): string {
  return rate >= 10 ? String(Math.round(rate)) : rate.toFixed(1);
}
