// Test helpers for the dashboard's screen: ink-testing-library with the colour level fixed (set
// before ink loads, so a frame is the same on every terminal), and the recorded /stats answers.

import { readFileSync } from 'node:fs';
import type { Stats } from '../../src/top/poller.js';

process.env['FORCE_COLOR'] = '1';
const { render } = await import('ink-testing-library');
const { default: chalk } = await import('chalk');
chalk.level = 1;

export { chalk, render };

/** test/fixtures/stats/<name>.json */
export function statsFixture(name: string): Stats {
  return JSON.parse(readFileSync(new URL(`../../../test/fixtures/stats/${name}.json`, import.meta.url), 'utf8')) as Stats;
}
