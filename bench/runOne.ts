// Runs one bench module and prints its rows as a table with ratios (and appends them as JSON lines to the file in
// FACT_BENCH_JSON_LINES, which bench/run.mjs gathers for `--json FILE`).
import { appendFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { ranOnLine, trackProviders } from '../src/core/onnx/providerUsage';

export interface BenchRow {
  name: string;
  ours: number;
  reference?: number;
  referenceName?: string;
  unit: string;
  note?: string;
  /** False when the reference is not an honest one (e.g. PyTorch on the netlib reference BLAS): no ratio then. */
  referenceOptimised?: boolean;
}

const higherIsBetter = (unit: string) => unit.includes('/s');

/** How many times faster ours is (> 1 = faster), or undefined when there is no honest reference. */
export function speedRatio(r: BenchRow): number | undefined {
  if (r.reference === undefined || !r.ours || !r.reference || r.referenceOptimised === false) return undefined;
  return higherIsBetter(r.unit) ? r.ours / r.reference : r.reference / r.ours;
}

function ratioText(r: BenchRow): string {
  const x = speedRatio(r);
  if (x === undefined) return r.reference !== undefined && r.referenceOptimised === false ? 'no ratio: the reference is not optimised' : '';
  return `${x.toFixed(2)}× ${x >= 1 ? 'faster' : 'slower'} than ${r.referenceName ?? 'reference'}`;
}

async function main(): Promise<void> {
  const file = process.argv[2]!;
  const mod = (await import(file)) as { run: (report: (r: BenchRow) => void) => Promise<void> };
  const ortVersion = (createRequire(__filename)('onnxruntime-node/package.json') as { version: string }).version;
  console.log(
    `CPU: ${os.cpus()[0]?.model} × ${os.cpus().length}, node ${process.version}, load avg ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
  console.log(`ours: onnxruntime-node ${ortVersion} (on the CPU: its own MLAS kernels, no external BLAS, no oneDNN)`);
  const jsonLines = process.env.FACT_BENCH_JSON_LINES;
  const ranOn = await trackProviders(() =>
    mod.run((r) => {
      const fmt = (v: number | undefined) => (v === undefined ? '—' : v >= 100 ? v.toFixed(0) : v.toPrecision(3));
      console.log(
        `${r.name.padEnd(52)} ours ${fmt(r.ours).padStart(8)} ${r.unit.padEnd(10)} ${r.reference !== undefined ? `ref ${fmt(r.reference).padStart(8)}` : ''}  ${ratioText(r)}${r.note ? `  (${r.note})` : ''}`,
      );
      if (jsonLines) {
        const row = {
          bench: path.basename(file),
          name: r.name,
          ours: r.ours,
          reference: r.reference ?? null,
          referenceName: r.reference !== undefined ? (r.referenceName ?? 'reference') : null,
          unit: r.unit,
          ratio: speedRatio(r) ?? null,
          referenceOptimised: r.referenceOptimised ?? null,
          note: r.note ?? null,
          loadavg: os.loadavg()[0],
        };
        appendFileSync(jsonLines, JSON.stringify(row) + '\n');
      }
    }),
  );
  // Where our side actually ran (--ep asks; a provider that cannot start falls back to the CPU).
  console.log(`ours: ${ranOnLine(ranOn.ranOn) ?? 'no session ran'}`);
}

void main();
