// Command-line normalisation shared by every command: Go's single-dash long flags
// (`-tcp-address=x`, `-tcp-address x`) become `--tcp-address`, so scripts written for the Go tools
// run unchanged. Single-letter flags (`-n 5`, `-0`) and negative numbers are left alone.

const GO_LONG_FLAG = /^-[a-zA-Z][a-zA-Z0-9_-]+(=.*)?$/s;

export function normalizeGoFlags(args: readonly string[]): string[] {
  const out: string[] = [];
  let passthrough = false;
  for (const arg of args) {
    if (passthrough) {
      out.push(arg);
      continue;
    }
    if (arg === '--') passthrough = true;
    out.push(GO_LONG_FLAG.test(arg) ? `-${arg}` : arg);
  }
  return out;
}
