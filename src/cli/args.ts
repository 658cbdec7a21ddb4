// A small, strict argument parser: positional arguments, --flag, --key value, --key=value. Unknown options are
// errors (a typo must not silently change what runs).
export interface ParsedArgs { positional: string[]; options: Record<string, string | true> }

export class UsageError extends Error {}

export function parseArgs(argv: string[], known: { flags: string[]; values: string[] }): ParsedArgs {
  const positional: string[] = [];
  const options: Record<string, string | true> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') { positional.push(...argv.slice(i + 1)); break; }
    if (!a.startsWith('--')) { positional.push(a); continue; }
    const eq = a.indexOf('=');
    const key = a.slice(2, eq < 0 ? undefined : eq);
    if (known.flags.includes(key)) {
      if (eq >= 0) throw new UsageError(`--${key} takes no value.`);
      options[key] = true;
    } else if (known.values.includes(key)) {
      const value = eq >= 0 ? a.slice(eq + 1) : argv[++i];
      if (value === undefined || (eq < 0 && value.startsWith('--'))) throw new UsageError(`--${key} needs a value.`);
      options[key] = value;
    } else {
      throw new UsageError(`Unknown option --${key}.`);
    }
  }
  return { positional, options };
}
