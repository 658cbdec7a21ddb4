// `fact` — the headless face of FaCT. Dispatch, help, progress and exit codes; the commands and their options are
// declared in commands.ts, and the work is done by src/core.
import { isFactError } from '../core/errors';
import { fileSystemError } from '../core/util/fileSystemError';
import { ranOnLine, trackProviders } from '../core/onnx/providerUsage';
import type { CallContext } from '../core/jobs/methods';
import type { CoreServices } from '../core/jobs/services';
import { version } from '../../package.json';
import { commands, isCommandName, type Command, type CommandContext } from './commands';
import { commandUsage, parseCommand, UsageError, wantsHelp, type Options } from './options';
import { createProgressReporter } from './progress';

const allCommands = Object.values(commands) as unknown as Command<Options>[];

function overview(): string {
  const lines = [
    'fact — Faithful Concept Traces for B-cos models',
    '',
    "Usage: fact COMMAND ARGUMENTS [OPTIONS]   (fact COMMAND --help: that command's options)",
    '',
    'Commands:',
  ];
  for (const c of allCommands) {
    const required = Object.entries(c.spec.options)
      .filter(([, o]) => o.required)
      .map(([n, o]) => `--${n} ${o.meta}`);
    lines.push(`  fact ${[c.spec.name, ...c.spec.args, ...required].join(' ')}`, `      ${c.spec.summary}`);
  }
  lines.push(
    '',
    'Common options: --json (machine-readable output), --ep auto|cpu|cuda|webgpu, --cuda-libs DIR, --threads N, --help,',
    'and `fact --version`. Text output ends with where the work ran ("Ran on …").',
    '',
    "What evaluate, concepts and consistency derive from a checkpoint goes to a cache keyed by the model's and the",
    "checkpoint's content ($FACT_CACHE, else $XDG_CACHE_HOME/fact-vscode, else ~/.cache/fact-vscode), or to --out DIR;",
    'the checkpoint itself is only read.',
    '',
    'Exit codes: 0 success, 1 bad input or a model that is not dynamic-linear (the message says which',
    "            file or node and why), 2 usage error, 3 some images could not be processed (the others'",
    '            results are printed).',
  );
  return lines.join('\n');
}

export interface CliIO {
  out: (s: string) => void;
  err: (s: string) => void;
  /** stderr when it is a terminal: progress redraws one line there. Absent: one progress line per ~10 s. */
  terminal?: { write: (s: string) => void; columns: number };
  /** The environment (NO_COLOR, TERM). */
  env?: Record<string, string | undefined>;
  /** Milliseconds; injectable so that tests of the progress throttle need no waiting. */
  now?: () => number;
}

const defaultIO = (): CliIO => ({
  out: (s) => process.stdout.write(`${s}\n`),
  err: (s) => process.stderr.write(`${s}\n`),
  ...(process.stderr.isTTY ? { terminal: { write: (s: string) => process.stderr.write(s), columns: process.stderr.columns || 80 } } : {}),
  env: process.env,
  now: () => Date.now(),
});

export async function runCli(argv: string[], io: CliIO = defaultIO()): Promise<number> {
  // Text output ends with where the work ran (JSON results carry it as fields).
  const { value: code, ranOn } = await trackProviders(() => runCommand(argv, io));
  const line = ranOnLine(ranOn);
  if (line && (code === 0 || code === 3) && !argv.includes('--json')) io.out(line);
  return code;
}

async function runCommand(argv: string[], io: CliIO): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--version' || name === '-V') {
    io.out(`fact ${version}`);
    return 0;
  }
  if (name === undefined) {
    io.err(overview());
    return 2;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    const about = rest[0];
    if (about !== undefined && isCommandName(about)) {
      io.out(commandUsage(commands[about].spec as never));
      return 0;
    }
    io.out(overview());
    return 0;
  }
  if (!isCommandName(name)) {
    io.err(`Unknown command '${name}'.\n\n${overview()}`);
    return 2;
  }
  const cmd = commands[name] as unknown as Command<Options>;
  if (wantsHelp(rest)) {
    io.out(commandUsage(cmd.spec));
    return 0;
  }

  let services: CoreServices | undefined;
  let json = false;
  const abort = new AbortController();
  const onSignal = () => {
    io.err('\nStopping (the job can be resumed)…');
    abort.abort();
  };
  try {
    const args = parseCommand(cmd.spec, rest);
    json = args.options.json === true;
    const { CoreServices } = await import('../core/jobs/services');
    const cudaLibraryPath = args.options['cuda-libs'];
    services = new CoreServices({
      executionProvider: args.options.ep ?? 'auto',
      ...(args.options.threads !== undefined ? { threads: args.options.threads } : {}),
      ...(cudaLibraryPath !== undefined ? { cudaLibraryPath } : {}),
      // Explanation graphs are kept in the cache root, so the next `fact explain` skips building them.
      cacheGraphs: true,
    });
    process.once('SIGINT', onSignal);
    // Slurm stops a job (scancel, time limit, preemption) with SIGTERM: the same orderly, resumable stop.
    process.once('SIGTERM', onSignal);
    const env = io.env ?? {};
    const plain = !!env.NO_COLOR || env.TERM === 'dumb';
    // FACT_PROGRESS_SECONDS: how often a log (not a terminal) gets a progress line; 0 prints every one.
    const logSeconds =
      env.FACT_PROGRESS_SECONDS !== undefined && env.FACT_PROGRESS_SECONDS !== '' ? Number(env.FACT_PROGRESS_SECONDS) : undefined;
    const logInterval = logSeconds !== undefined && Number.isFinite(logSeconds) && logSeconds >= 0 ? logSeconds * 1000 : undefined;
    const context: CommandContext = {
      services,
      job: (): CallContext & { end: () => void } => {
        const reporter = createProgressReporter({
          ...(io.terminal ? { terminal: io.terminal } : {}),
          line: io.err,
          plain,
          now: io.now ?? Date.now,
          ...(logInterval !== undefined ? { intervalMs: logInterval } : {}),
        });
        return {
          signal: abort.signal,
          progress: (m, f) => {
            if (!json) reporter.report(m, f);
          },
          end: reporter.end,
        };
      },
      out: io.out,
      err: io.err,
      argv: rest,
      signal: abort.signal,
    };
    return await cmd.run(args, context);
  } catch (caught) {
    const e = caught instanceof UsageError ? caught : (fileSystemError(caught) ?? caught);
    if (e instanceof UsageError) {
      const spec = e.command !== undefined && isCommandName(e.command) ? commands[e.command].spec : cmd.spec;
      io.err(`${e.message}\n\n${commandUsage(spec as never)}`);
      return 2;
    }
    if (isFactError(e)) {
      if (json) io.out(JSON.stringify({ error: { code: e.code, message: e.message, details: e.details } }, null, 2));
      io.err(`error: ${e.message}`);
      return 1;
    }
    io.err(`internal error: ${(e as Error).stack ?? String(e)}`);
    return 1;
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    await services?.dispose();
  }
}

if (require.main === module) {
  runCli(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
