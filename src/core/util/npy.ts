// NumPy's .npy format (version 1.0), so a user can load our arrays with np.load and compare them with their own
// PyTorch code: a magic string, a little-endian header length, a Python-literal header padded to 64 bytes, the data.
export function encodeNpy(data: Float32Array, shape: number[]): Uint8Array {
  const count = shape.reduce((a, d) => a * d, 1);
  if (count !== data.length) throw new Error(`npy: ${data.length} values do not fill shape [${shape.join(', ')}]`);
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(', ');
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${dims}), }`;
  const preamble = 10; // magic (6) + version (2) + header length (2)
  header += ' '.repeat((64 - ((preamble + header.length + 1) % 64)) % 64) + '\n';
  const out = new Uint8Array(preamble + header.length + data.byteLength);
  out.set([0x93, ...new TextEncoder().encode('NUMPY'), 1, 0], 0);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), preamble);
  const body = new DataView(out.buffer, preamble + header.length);
  data.forEach((v, i) => body.setFloat32(4 * i, v, true));
  return out;
}
