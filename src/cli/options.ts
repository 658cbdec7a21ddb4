// Numeric options, checked all at once before any work starts: `--seed abc` or `--validate-from -1` is a usage
// error (exit 2) at once, not a NaN stored in a manifest or a failure after an epoch of training.
import { UsageError } from './args';

export type NumberKind = 'positive-int' | 'non-negative-int' | 'positive-number';

/** Every numeric option the CLI knows, and what it must be. */
export const numericOptions: Record<string, NumberKind> = {
  top: 'positive-int', threads: 'positive-int', samples: 'positive-int', 'budget-gb': 'positive-number', 'shard-size': 'positive-int',
  limit: 'positive-int', seed: 'non-negative-int', k: 'positive-int', 'dict-size': 'positive-int', epochs: 'positive-int', batch: 'positive-int',
  lr: 'positive-number', 'validate-from': 'non-negative-int', 'validate-count': 'positive-int', concept: 'non-negative-int', 'mean-images': 'positive-int', 'state-every': 'positive-number',
};

const described: Record<NumberKind, string> = {
  'positive-int': 'a positive whole number', 'non-negative-int': 'a whole number, 0 or more', 'positive-number': 'a positive number',
};

/** The numeric options given, parsed and checked; a bad one throws a UsageError naming it and what it must be. */
export function readNumericOptions(options: Record<string, string | true>, kinds: Record<string, NumberKind> = numericOptions): Record<string, number | undefined> {
  const out: Record<string, number | undefined> = {};
  for (const [name, kind] of Object.entries(kinds)) {
    const raw = options[name];
    if (raw === undefined) continue;
    const n = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN;
    const ok = kind === 'positive-number' ? Number.isFinite(n) && n > 0
      : Number.isSafeInteger(n) && (kind === 'positive-int' ? n > 0 : n >= 0);
    if (!ok) throw new UsageError(`--${name} must be ${described[kind]}, not '${String(raw)}'.`);
    out[name] = n;
  }
  return out;
}
