// The files of help/ (see help-text.ts): every invocation's --help as the yargs program renders it,
// at each prerendered width, each in a child process of its own (yargs reads the width and the
// program name from the process).

import { spawn } from 'node:child_process';
import { ALIASES, COMMAND_NAMES } from './aliases.js';
import { helpFileName, PRERENDERED_WIDTHS } from './help-text.js';

const PROGRAM = new URL('./program.js', import.meta.url).href;
const ALIAS_ARGS_URL = new URL('./aliases.js', import.meta.url).href;

/** [file invocation, program name, arguments] */
function invocations(): [string, string, string[]][] {
  return [['nsq', 'nsq', ['--help']], ...COMMAND_NAMES.map((c): [string, string, string[]] => [`nsq-${c}`, 'nsq', [c, '--help']]), ...Object.keys(ALIASES).map((a): [string, string, string[]] => [a, a, ['--help']])];
}

function render(name: string, args: string[], width: number): Promise<string> {
  // the yargs path of main.ts, with the terminal width yargs will read and the program name a
  // command may read (pub's usage lines differ under to_nsq)
  const script = `process.stdout.columns = ${width};
process.argv[1] = ${JSON.stringify(`/${name}`)};
const { ALIASES, ALIAS_ARGS } = await import(${JSON.stringify(ALIAS_ARGS_URL)});
const { runCli } = await import(${JSON.stringify(PROGRAM)});
const name = ${JSON.stringify(name)};
await runCli([...(ALIAS_ARGS[name] ?? []), ...${JSON.stringify(args)}], name, ALIASES[name]);`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 && out !== '' ? resolve(out) : reject(new Error(`${name} ${args.join(' ')} at width ${width}: exit ${code} ${err}`))));
  });
}

/** Every file help/ holds. */
export function helpFileNames(): string[] {
  return invocations().flatMap(([file]) => PRERENDERED_WIDTHS.map((w) => helpFileName(file, w)));
}

/** file name -> text, for every invocation at every prerendered width (or those `only` keeps) */
export async function helpFiles(only: (invocation: string, width: number) => boolean = () => true): Promise<Record<string, string>> {
  const jobs = invocations()
    .flatMap(([file, name, args]) => PRERENDERED_WIDTHS.map((w) => ({ file: helpFileName(file, w), name, args, w, keep: only(file, w) })))
    .filter((j) => j.keep);
  const out: Record<string, string> = {};
  // a few at a time: each child loads yargs
  for (let i = 0; i < jobs.length; i += 4) {
    const batch = jobs.slice(i, i + 4);
    const texts = await Promise.all(batch.map((j) => render(j.name, j.args, j.w)));
    batch.forEach((j, k) => (out[j.file] = texts[k]!));
  }
  return out;
}
