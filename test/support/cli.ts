// Runs the CLI in-process and captures what it prints.
import { runCli } from '../../src/cli/main';
import { tempDir } from './paths';

// The CLI caches derived files (explanation graphs) in the user's cache folder: tests use a temporary one.
process.env.FACT_CACHE ??= tempDir('fact-cli-cache-');

export async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(argv, {
    out: (s) => {
      out += `${s}\n`;
    },
    err: (s) => {
      err += `${s}\n`;
    },
  });
  return { code, out, err };
}
