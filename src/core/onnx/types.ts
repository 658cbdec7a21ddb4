// Shapes of the decoded ONNX protobuf messages, as protobufjs hands them to us (camelCase fields; repeated fields
// are always arrays; int64 values arrive as `Long` objects). Only the fields the project reads are typed.
import type Long from 'long';

export type Int64 = number | Long;

export function int(v: Int64 | undefined | null): number {
  if (v === undefined || v === null) return 0;
  return typeof v === 'number' ? v : v.toNumber();
}

export interface OnnxTensor {
  name: string;
  dims: Int64[];
  dataType: number;
  rawData: Uint8Array;
  floatData: number[];
  int32Data: number[];
  int64Data: Int64[];
  doubleData: number[];
  dataLocation: number;
  externalData: { key: string; value: string }[];
}

export interface OnnxAttribute {
  name: string;
  type: number;
  f: number;
  i: Int64;
  s: Uint8Array;
  t?: OnnxTensor | null;
  g?: OnnxGraph | null;
  floats: number[];
  ints: Int64[];
  strings: Uint8Array[];
}

export interface OnnxNode {
  input: string[];
  output: string[];
  name: string;
  opType: string;
  domain: string;
  attribute: OnnxAttribute[];
}

export interface OnnxDim {
  dimValue?: Int64 | null;
  dimParam?: string | null;
}
export interface OnnxValueInfo {
  name: string;
  type?: { tensorType?: { elemType: number; shape?: { dim: OnnxDim[] } | null } | null } | null;
}

export interface OnnxGraph {
  name: string;
  node: OnnxNode[];
  initializer: OnnxTensor[];
  input: OnnxValueInfo[];
  output: OnnxValueInfo[];
  valueInfo: OnnxValueInfo[];
}

export interface OnnxModel {
  irVersion: Int64;
  opsetImport: { domain: string; version: Int64 }[];
  producerName: string;
  producerVersion: string;
  graph?: OnnxGraph | null;
}

/** A dimension as we show it: a number when fixed, the symbol name when symbolic, null when unknown. */
export type Dim = number | string | null;

export function valueInfoShape(v: OnnxValueInfo): Dim[] | undefined {
  const shape = v.type?.tensorType?.shape;
  if (!shape) return undefined;
  return shape.dim.map((d) =>
    d.dimParam ? d.dimParam : d.dimValue !== undefined && d.dimValue !== null && int(d.dimValue) > 0 ? int(d.dimValue) : null,
  );
}
