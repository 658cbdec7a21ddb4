// Runs one bench module and prints its rows as a table with ratios.
import * as os from 'node:os';
import { ranOnLine, trackProviders } from '../src/core/onnx/providerUsage';

export interface BenchRow { name: string; ours: number; reference?: number; referenceName?: string; unit: string; note?: string }

function ratio(r: BenchRow): string {
  if (r.reference === undefined || !r.ours || !r.reference) return '';
  const higherIsBetter = r.unit.includes('/s');
  const x = higherIsBetter ? r.ours / r.reference : r.reference / r.ours;
  return `${x.toFixed(2)}× ${x >= 1 ? 'faster' : 'slower'} than ${r.referenceName ?? 'reference'}`;
}

async function main(): Promise<void> {
  const file = process.argv[2]!;
  const mod = (await import(file)) as { run: (report: (r: BenchRow) => void) => Promise<void> };
  console.log(`CPU: ${os.cpus()[0]?.model} × ${os.cpus().length}, node ${process.version}`);
  const ranOn = await trackProviders(() => mod.run((r) => {
    const fmt = (v: number | undefined) => (v === undefined ? '—' : v >= 100 ? v.toFixed(0) : v.toPrecision(3));
    console.log(`${r.name.padEnd(52)} ours ${fmt(r.ours).padStart(8)} ${r.unit.padEnd(10)} ${r.reference !== undefined ? `ref ${fmt(r.reference).padStart(8)}` : ''}  ${ratio(r)}${r.note ? `  (${r.note})` : ''}`);
  }));
  // Where our side actually ran (--ep asks; a provider that cannot start falls back to the CPU).
  console.log(`ours: ${ranOnLine(ranOn.ranOn) ?? 'no session ran'}`);
}

void main();
