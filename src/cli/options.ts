// Typed command-line options. Each command declares its positional arguments and options once; the declaration
// drives parsing, validation (types, ranges, required options, unknown options) and the command's --help text.
// Adding an option is one line in the command's declaration (src/cli/commands.ts), e.g.
//   slurm: opt.flag('run the job through Slurm'),
// Unknown options are errors: a typo must not silently change what runs.

/** A usage error: printed with the usage of `command` (or the overview), exit code 2. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly command?: string,
  ) {
    super(message);
  }
}

export interface Option<T, Required extends boolean = boolean> {
  /** A flag takes no value (`--json`); every other option takes one (`--k 8` or `--k=8`). */
  readonly flag: boolean;
  /** The value's placeholder in the usage text (`K`, `DIR`). */
  readonly meta: string;
  readonly help: string;
  readonly required: Required;
  /** Turns the given text into the value, or throws a UsageError naming `--name`. */
  readonly parse: (text: string, name: string) => T;
}

interface Range {
  min?: number;
  max?: number;
}

function inRange(n: number, range: Range, name: string, what: string): number {
  if (range.min !== undefined && n < range.min) throw new UsageError(`--${name} must be ${what} ≥ ${range.min}.`);
  if (range.max !== undefined && n > range.max) throw new UsageError(`--${name} must be ${what} ≤ ${range.max}.`);
  return n;
}

function valued<T>(meta: string, help: string, parse: (text: string, name: string) => T) {
  return {
    optional: (): Option<T, false> => ({ flag: false, meta, help, required: false, parse }),
    required: (): Option<T, true> => ({ flag: false, meta, help, required: true, parse }),
  };
}

/** The option kinds. `…Required` variants make the option mandatory (checked before the command runs). */
export const opt = {
  flag: (help: string): Option<boolean, false> => ({ flag: true, meta: '', help, required: false, parse: () => true }),
  string: (meta: string, help: string) => valued(meta, help, (t) => t).optional(),
  stringRequired: (meta: string, help: string) => valued(meta, help, (t) => t).required(),
  /** An integer, by default ≥ 1. */
  int: (meta: string, help: string, range: Range = { min: 1 }) =>
    valued(meta, help, (t, name) => {
      const n = Number(t);
      if (t.trim() === '' || !Number.isInteger(n)) throw new UsageError(`--${name} must be an integer, not '${t}'.`);
      return inRange(n, range, name, 'an integer');
    }).optional(),
  intRequired: (meta: string, help: string, range: Range = { min: 1 }) => ({ ...opt.int(meta, help, range), required: true as const }),
  /** A finite number, by default > 0. */
  number: (meta: string, help: string, range?: Range) =>
    valued(meta, help, (t, name) => {
      const n = Number(t);
      if (t.trim() === '' || !Number.isFinite(n)) throw new UsageError(`--${name} must be a number, not '${t}'.`);
      if (!range && !(n > 0)) throw new UsageError(`--${name} must be a positive number.`);
      return range ? inRange(n, range, name, 'a number') : n;
    }).optional(),
  /** One of a fixed set of words. */
  choice: <C extends string>(values: readonly C[], help: string) =>
    valued(values.join('|'), help, (t, name) => {
      if (!(values as readonly string[]).includes(t)) throw new UsageError(`--${name} must be one of ${values.join(', ')}, not '${t}'.`);
      return t as C;
    }).optional(),
};

export type Options = Record<string, Option<unknown>>;

/** The parsed values: required options are always there, the others when given. */
export type Values<O extends Options> = {
  [K in keyof O as O[K] extends Option<unknown, true> ? K : never]: O[K] extends Option<infer T> ? T : never;
} & { [K in keyof O as O[K] extends Option<unknown, true> ? never : K]?: O[K] extends Option<infer T> ? T : never };

export interface CommandSpec<O extends Options> {
  name: string;
  /** Positional arguments as the usage shows them: `MODEL`, `IMAGE...` (one or more), `[IMAGE...]` (any number). */
  args: string[];
  /** One line: what the command does. */
  summary: string;
  /** More lines for --help. */
  details?: string[];
  options: O;
}

/** Options every command takes. */
export const commonOptions = {
  json: opt.flag('machine-readable output on stdout'),
  ep: opt.choice(
    ['auto', 'cpu', 'cuda', 'webgpu'] as const,
    'execution provider (default auto: a real GPU when one works, never a software adapter; a provider that cannot start falls back to cpu, saying why)',
  ),
  'cuda-libs': opt.string('DIR', "the folder with onnxruntime's CUDA provider libraries, to check and report"),
  threads: opt.int('N', 'intra-op threads (training: default all cores)'),
  help: opt.flag('print this help and exit'),
};

export interface Parsed<O extends Options> {
  positional: string[];
  options: Values<O & typeof commonOptions>;
}

/** True when argv asks for help (before any `--`). */
export function wantsHelp(argv: string[]): boolean {
  const end = argv.indexOf('--');
  return (end < 0 ? argv : argv.slice(0, end)).some((a) => a === '--help' || a === '-h');
}

export function parseCommand<O extends Options>(spec: CommandSpec<O>, argv: string[]): Parsed<O> {
  const all: Options = { ...commonOptions, ...spec.options };
  const positional: string[] = [];
  const values: Record<string, unknown> = {};
  const fail = (message: string): never => {
    throw new UsageError(message, spec.name);
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    if (!a.startsWith('-') || a === '-' || /^-\d/.test(a)) {
      positional.push(a);
      continue;
    }
    if (!a.startsWith('--')) fail(`Unknown option ${a} (options are spelled --name).`);
    const eq = a.indexOf('=');
    const name = a.slice(2, eq < 0 ? undefined : eq);
    const o = Object.prototype.hasOwnProperty.call(all, name) ? all[name]! : undefined;
    if (!o) fail(`Unknown option --${name} for fact ${spec.name}.`);
    if (o!.flag) {
      if (eq >= 0) fail(`--${name} takes no value.`);
      values[name] = true;
      continue;
    }
    const text = eq >= 0 ? a.slice(eq + 1) : argv[++i];
    if (text === undefined || (eq < 0 && text.startsWith('--'))) fail(`--${name} needs a value (${o!.meta}).`);
    try {
      values[name] = o!.parse(text!, name);
    } catch (e) {
      if (e instanceof UsageError) fail(e.message);
      throw e;
    }
  }
  for (const [name, o] of Object.entries(spec.options))
    if (o.required && values[name] === undefined) fail(`fact ${spec.name} needs --${name} ${o.meta}.`);
  const { min, max } = positionalCount(spec.args);
  if (positional.length < min || positional.length > max) {
    fail(
      `fact ${spec.name} takes ${spec.args.join(' ')}${positional.length > max ? `, not ${positional.length} arguments (${positional.slice(max).join(' ')} is extra)` : ''}.`,
    );
  }
  return { positional, options: values as Values<O & typeof commonOptions> };
}

function positionalCount(args: string[]): { min: number; max: number } {
  let min = 0;
  let max = 0;
  for (const a of args) {
    const optional = a.startsWith('[');
    const many = a.includes('...');
    if (!optional) min++;
    max = many || max === Infinity ? Infinity : max + 1;
  }
  return { min, max };
}

/** The synopsis of a command: `fact explain MODEL IMAGE... [--class C] …`. */
export function synopsis(spec: CommandSpec<Options>): string {
  const opts = Object.entries(spec.options).map(([n, o]) => {
    const text = o.flag ? `--${n}` : `--${n} ${o.meta}`;
    return o.required ? text : `[${text}]`;
  });
  return ['fact', spec.name, ...spec.args, ...opts].join(' ');
}

function optionLines(options: Options): string[] {
  const rows = Object.entries(options).map(
    ([n, o]) => [o.flag ? `--${n}` : `--${n} ${o.meta}`, `${o.help}${o.required ? ' (required)' : ''}`] as const,
  );
  const width = Math.max(...rows.map(([l]) => l.length)) + 2;
  return rows.map(([l, h]) => `  ${l.padEnd(width)}${h}`);
}

/** The text of `fact COMMAND --help`. */
export function commandUsage(spec: CommandSpec<Options>): string {
  return [
    `Usage: ${wrap(synopsis(spec), 100, '         ')}`,
    '',
    `${spec.summary}`,
    ...(spec.details ?? []),
    '',
    ...(Object.keys(spec.options).length ? ['Options:', ...optionLines(spec.options), ''] : []),
    'Common options:',
    ...optionLines(commonOptions),
  ].join('\n');
}

/** Breaks a long line at spaces; continuation lines start with `indent`. */
function wrap(text: string, width: number, indent: string): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = indent + word;
    } else line = line ? `${line} ${word}` : word;
  }
  lines.push(line);
  return lines.join('\n');
}
