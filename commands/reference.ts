// The README's flag tables, generated from the engines' flag tables (NSQD_FLAGS, LOOKUPD_FLAGS) and
// the serve command's own flags, so the manual cannot drift from the program (a test compares).

import { flagDefault, isListKind, NSQD_FLAGS } from '../src/nsqd/flags.js';
import { LOOKUPD_FLAGS, lookupdFlagDefault } from '../src/lookupd/flags.js';

const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\s+/g, ' ').trim();
const code = (s: string): string => (s === '' ? '' : `\`${s.replace(/ $/, '␠')}\``);

function table(rows: [string, string, string][]): string {
  return ['| flag | default | meaning |', '|---|---|---|', ...rows.map(([f, d, m]) => `| \`--${f}\` | ${d} | ${cell(m)} |`)].join('\n') + '\n';
}

/** `nsq serve`'s flags: nsqd's, then the ones beyond nsqd. */
export function nsqdFlagTable(): string {
  const rows: [string, string, string][] = Object.entries(NSQD_FLAGS).map(([flag, spec]) => {
    if (spec.key === null) return [flag, '', `${spec.describe} (no effect here)`];
    const d = spec.hostDefault ?? code(String(flagDefault(spec)));
    return [flag, d, isListKind(spec.kind) ? `${spec.describe}` : spec.describe];
  });
  rows.push(['config', '', "nsqd's TOML config file (underscored option names: `tcp_address = \"...\"`, `nsqlookupd_tcp_addresses = [...]`); the command line wins over it"]);
  rows.push(['with-lookupd', '`false`', 'also run a lookupd in this process and register with it (not in nsqd)']);
  rows.push(['with-lookupd-tcp-address', '`127.0.0.1:4160`', 'TCP address of the `--with-lookupd` lookupd']);
  rows.push(['with-lookupd-http-address', '`127.0.0.1:4161`', 'HTTP address of the `--with-lookupd` lookupd']);
  rows.push(['nodes', '`1`', 'run N nodes, each its own process (or `auto`: one per core), with ports + i × `--port-step`, data path <data-path>/node-<i>, node ID + i; consumers must find them through lookupd ([below](#several-nodes-in-one-command---nodes); not in nsqd)']);
  rows.push(['port-step', '`2`', 'with `--nodes`: node i listens on each given port + i × this']);
  return table(rows);
}

export function lookupdFlagTable(): string {
  const rows: [string, string, string][] = Object.entries(LOOKUPD_FLAGS).map(([flag, spec]) => [flag, spec.key === null ? '' : (spec.hostDefault ?? code(lookupdFlagDefault(spec))), spec.key === null ? `${spec.describe} (no effect here)` : spec.describe]);
  rows.push(['config', '', "nsqlookupd's TOML config file (underscored option names); the command line wins over it"]);
  return table(rows);
}

const SECTIONS: Record<string, () => string> = { 'nsqd-flags': nsqdFlagTable, 'lookupd-flags': lookupdFlagTable };

/** The README with every generated section (between `<!-- generated: name -->` and `<!-- end: name -->`) rewritten. */
export function withGeneratedSections(readme: string): string {
  let out = readme;
  for (const [name, make] of Object.entries(SECTIONS)) {
    const start = `<!-- generated: ${name} (npm run completions) -->\n`;
    const end = `<!-- end: ${name} -->`;
    const i = out.indexOf(start);
    const j = out.indexOf(end);
    if (i === -1 || j < i) throw new Error(`README.md has no generated section ${name}`);
    out = out.slice(0, i + start.length) + make() + out.slice(j);
  }
  return out;
}
