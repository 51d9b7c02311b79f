// The daemons' start-up path: a command line made only of a command's own flags, read without
// loading yargs (importing it and laying out the help it caches costs a daemon more than its own
// start-up). Anything else — a positional word, an unknown or negated flag, a bare value flag,
// --help — returns null and yargs reads the line, so every refusal keeps yargs' one wording.

/** How a flag takes its value, as its yargs option declares it. */
export interface FlagShape {
  /** repeatable (`array: true`): every value kept, in order */
  list?: boolean;
  /** a bare `--flag` means true (the value is still read by the flag's own reader) */
  bare?: boolean;
  /** yargs' own boolean type: only the bare form is read here */
  boolean?: boolean;
  /** what yargs fills in when the flag is not given */
  default?: string | boolean;
}

/**
 * The flag values yargs would hand the command's handler (after the last value of a repeated
 * flag has won), or null when this line is not plainly `--flag=value`, `--flag value` and bare
 * boolean flags.
 */
export function readPlainFlags(args: readonly string[], shapes: Readonly<Record<string, FlagShape>>): Record<string, unknown> | null {
  const argv: Record<string, unknown> = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith('--') || arg === '--') return null;
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    const shape = Object.hasOwn(shapes, name) ? shapes[name]! : undefined;
    if (shape === undefined) return null;
    let value: string | boolean;
    if (eq !== -1) {
      value = arg.slice(eq + 1);
      // yargs converts its booleans' words and strips a value's quotes: left to it
      if (shape.boolean === true || /^["']/.test(value)) return null;
    } else if (shape.bare === true || shape.boolean === true) {
      const next = args[i + 1];
      // `--flag word` gives the flag that word in yargs
      if (next !== undefined && !next.startsWith('--')) return null;
      value = true;
    } else {
      const next = args[i + 1];
      if (next === undefined || next.startsWith('-') || /^["']/.test(next)) return null;
      value = next;
      i++;
    }
    if (shape.list === true) argv[name] = [...((argv[name] as unknown[] | undefined) ?? []), value];
    else argv[name] = value;
  }
  for (const [name, shape] of Object.entries(shapes)) if (shape.default !== undefined && argv[name] === undefined) argv[name] = shape.default;
  return argv;
}
