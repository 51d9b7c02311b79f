// nsqjs's own integration suite (node_modules/nsqjs/test/z_integration_test.js), run unchanged with
// its own runner (mocha) against this project's `nsqd`: the suite spawns `nsqd` from PATH with
// Go-style flags (-tcp-address, -tls-cert, ...), so a folder holding an `nsqd` link to our
// executable goes first on PATH.
//
// The suite uses fixed ports (4150, 4200, 4250, ...). So that nothing else on the machine can
// collide with them, it runs in its own user + network + PID namespace (`unshare -rn --pid --fork`):
// a private loopback, and every nsqd the suite starts dies with mocha. Where unprivileged user
// namespaces are not allowed (some CI kernels), it runs directly on the host's loopback instead.

import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import t from 'tap';
import { BIN } from '../helpers/nsqd.js';

const require = createRequire(import.meta.url);
const NSQJS_DIR = dirname(require.resolve('nsqjs/package.json'));
const MOCHA_PKG = require.resolve('mocha/package.json');
const MOCHA = join(dirname(MOCHA_PKG), (require(MOCHA_PKG) as { bin: Record<string, string> }).bin['mocha']!);
/** the cases in the suite of the installed nsqjs (0.13): 5 TLS/compression permutations × 2, 8 end-to-end, 1 failure */
const CASES = 19;
/** the whole run; each case takes well under a second */
const RUN_TIMEOUT = 90_000;

interface Teardown {
  teardown(fn: () => unknown): void;
}

/** Can this user make a private network namespace with a working loopback? */
function namespaceWorks(): boolean {
  const r = spawnSync('unshare', ['-rn', '--pid', '--fork', 'sh', '-c', 'ip link set lo up'], { stdio: 'ignore', timeout: 10_000 });
  return r.status === 0;
}

t.test("nsqjs's integration suite passes against our nsqd", async (t) => {
  const bin = mkdtempSync(join(tmpdir(), 'nsqjs-suite-bin-'));
  t.teardown(() => rmSync(bin, { recursive: true, force: true }));
  // a link named nsqd: our executable picks its role from the name it was started as
  symlinkSync(BIN, join(bin, 'nsqd'));
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: [bin, dirname(process.execPath), process.env['PATH'] ?? ''].join(delimiter) };
  // tap's loaders are for this process only: mocha and the nsqd processes run plain
  delete env['NODE_OPTIONS'];
  // mocha as nsqjs's own test script runs it (-R spec), minus -b so every failure is listed; the
  // hook timeout is raised from 2 s because a parallel test run can slow an nsqd's start-up, and
  // --exit ends a failed run at once instead of waiting out the suite's start-up retries
  const mocha = [process.execPath, MOCHA, '-R', 'spec', '--timeout', '10000', '--exit', 'test/z_integration_test.js'];
  const isolated = namespaceWorks();
  const [cmd, ...args] = isolated ? ['unshare', '-rn', '--pid', '--fork', 'sh', '-c', 'ip link set lo up && exec "$0" "$@"', ...mocha] : mocha;
  if (!isolated) t.comment('unshare -rn is not permitted here: running the suite on the host loopback (fixed ports 4150+)');

  const child = spawn(cmd!, args, { cwd: NSQJS_DIR, env, stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('exit', (c, s) => resolve([c, s])));
  clearTimeout(timer);

  const passing = Number(/(\d+) passing/.exec(output)?.[1] ?? 0);
  const failing = Number(/(\d+) failing/.exec(output)?.[1] ?? 0);
  const ok = code === 0 && passing === CASES && failing === 0;
  t.ok(ok, `mocha exit ${code ?? signal}: ${passing} passing, ${failing} failing (want ${CASES} passing, 0 failing)`);
  // mocha's own report, so a failure says which case and why
  if (!ok) t.comment(output);
  // the suite discards nsqd's output: when it fails, show what our nsqd says to the suite's flags
  if (!ok) t.comment(`nsqd with the suite's flags: ${await nsqdWithSuiteFlags(t, join(bin, 'nsqd'))}`);
});

/** Starts our nsqd as the suite does (ports 0) for a moment; its output if it exits, else 'starts'. */
async function nsqdWithSuiteFlags(t: Teardown, nsqd: string): Promise<string> {
  const data = mkdtempSync(join(tmpdir(), 'nsqjs-suite-data-'));
  t.teardown(() => rmSync(data, { recursive: true, force: true }));
  const args = ['-http-address', '127.0.0.1:0', '-tcp-address', '127.0.0.1:0', '-broadcast-address', '127.0.0.1', '-data-path', data, '-tls-cert', './test/cert.pem', '-tls-key', './test/key.pem'];
  const child = spawn(nsqd, args, { cwd: NSQJS_DIR, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const exited = await Promise.race([new Promise<boolean>((resolve) => child.on('exit', () => resolve(true))), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 3000))]);
  if (!exited) {
    child.kill('SIGKILL');
    return 'starts and keeps running';
  }
  return `exits: ${out.trim()}`;
}
