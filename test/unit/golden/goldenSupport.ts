// Reading the PyTorch golden fixtures (test/fixtures/, written by models/recipes/make_fixtures.py) and comparing
// with the measure: max |ours − golden| / max |golden|.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { asFloat32, readSafetensors, type SafeFile } from '../../../src/core/util/safetensors';
import { fixtures } from '../../support/paths';

export interface GoldenEntry {
  model?: string;
  modelSha256?: string;
  logitBias?: number;
  constantOnPath?: boolean;
  boundaries?: Record<string, { modulePath: string; shape: number[] }>;
  tensors: Record<string, { dtype: string; shape: number[]; description: string }>;
}

export function goldenIndex(): { files: Record<string, GoldenEntry> } {
  return JSON.parse(readFileSync(path.join(fixtures, 'index.json'), 'utf8'));
}

export async function golden(rel: string): Promise<SafeFile> {
  return readSafetensors(path.join(fixtures, rel));
}

export function f32(f: SafeFile, name: string): Float32Array {
  const t = f.tensors[name];
  if (!t) throw new Error(`golden tensor '${name}' is missing`);
  return asFloat32(t);
}

export function ints(f: SafeFile, name: string): number[] {
  return Array.from(f.tensors[name]!.data as BigInt64Array, Number);
}

export function relErr(ours: ArrayLike<number>, gold: ArrayLike<number>): number {
  if (ours.length !== gold.length) throw new Error(`length ${ours.length} vs golden ${gold.length}`);
  let diff = 0,
    scale = 0;
  for (let i = 0; i < gold.length; i++) {
    diff = Math.max(diff, Math.abs(ours[i]! - gold[i]!));
    scale = Math.max(scale, Math.abs(gold[i]!));
  }
  return diff / (scale || 1);
}
