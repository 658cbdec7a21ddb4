// Models exported with a fixed batch size (torch.onnx.export without dynamic_axes) take exactly that many images per
// run. Every batch the project forms is cut into runs of that size; the last run is padded by repeating its last
// row, and the padding is cut from every output again.
export interface BatchTensor {
  data: Float32Array;
  dims: number[];
}

export async function runInFixedBatches(
  fixed: number | undefined,
  feeds: Record<string, BatchTensor>,
  batchFeeds: string[],
  run: (feeds: Record<string, BatchTensor>) => Promise<Record<string, BatchTensor>>,
): Promise<Record<string, BatchTensor>> {
  const n = feeds[batchFeeds[0]!]!.dims[0]!;
  if (!fixed || n === fixed) return run(feeds);
  const parts: Record<string, BatchTensor>[] = [];
  for (let start = 0; start < n; start += fixed) {
    const chunk: Record<string, BatchTensor> = { ...feeds };
    for (const name of batchFeeds) chunk[name] = rows(feeds[name]!, start, fixed);
    parts.push(await run(chunk));
  }
  const out: Record<string, BatchTensor> = {};
  for (const name of Object.keys(parts[0]!)) {
    const first = parts[0]![name]!;
    const per = first.dims.slice(1).reduce((a, d) => a * d, 1);
    const data = new Float32Array(n * per);
    parts.forEach((p, i) => {
      const take = Math.min(fixed, n - i * fixed);
      data.set(p[name]!.data.subarray(0, take * per), i * fixed * per);
    });
    out[name] = { data, dims: [n, ...first.dims.slice(1)] };
  }
  return out;
}

/** Rows [start, start + count) of a batch, repeating the last row where the batch ends first. */
function rows(t: BatchTensor, start: number, count: number): BatchTensor {
  const n = t.dims[0]!;
  const per = t.dims.slice(1).reduce((a, d) => a * d, 1);
  const data = new Float32Array(count * per);
  for (let r = 0; r < count; r++) {
    const src = Math.min(start + r, n - 1);
    data.set(t.data.subarray(src * per, (src + 1) * per), r * per);
  }
  return { data, dims: [count, ...t.dims.slice(1)] };
}
