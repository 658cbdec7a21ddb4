// Reading node attributes with their defaults.
import { int, type OnnxNode } from './types';

export function attrInt(n: OnnxNode, name: string, fallback: number): number {
  const a = n.attribute.find((x) => x.name === name);
  return a ? int(a.i) : fallback;
}

export function attrFloat(n: OnnxNode, name: string, fallback: number): number {
  const a = n.attribute.find((x) => x.name === name);
  return a ? a.f : fallback;
}

export function attrInts(n: OnnxNode, name: string): number[] | undefined {
  const a = n.attribute.find((x) => x.name === name);
  return a ? a.ints.map(int) : undefined;
}

export function attrString(n: OnnxNode, name: string, fallback: string): string {
  const a = n.attribute.find((x) => x.name === name);
  return a && a.s.length ? new TextDecoder().decode(a.s) : fallback;
}
