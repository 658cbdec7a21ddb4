// `fact explain --out DIR` writes W(x) and x ⊙ W(x) as .npy files a user can load with numpy.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { cli } from '../../support/cli';
import { fixtures, tempDir } from '../../support/paths';

const tiny = path.join(fixtures, 'tiny', 'tiny.onnx');

/** Parses a version-1.0 .npy of little-endian float32 the way numpy's format module does. */
function readNpy(file: string): { shape: number[]; data: Float32Array } {
  const b = readFileSync(file);
  assert.deepEqual([...b.subarray(0, 8)], [0x93, ...Buffer.from('NUMPY'), 1, 0]);
  const len = b.readUInt16LE(8);
  assert.equal((10 + len) % 64, 0, 'the data starts 64-byte aligned');
  const header = b.subarray(10, 10 + len).toString('latin1');
  assert.match(header, /^\{'descr': '<f4', 'fortran_order': False, 'shape': \([\d, ]+\), \} *\n$/);
  const shape = header
    .match(/\(([\d, ]+)\)/)![1]!
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number);
  const body = b.subarray(10 + len);
  const data = new Float32Array(body.length / 4);
  for (let i = 0; i < data.length; i++) data[i] = body.readFloatLE(4 * i);
  return { shape, data };
}

describe('fact explain --out writes the raw arrays', () => {
  it('W(x) and x ⊙ W(x) as C×H×W float32 .npy whose total plus the bias is the logit', async () => {
    const out = tempDir();
    const img = path.join(out, 'x.png');
    await sharp(
      Uint8Array.from({ length: 64 }, (_, i) => (i * 29) % 256),
      { raw: { width: 8, height: 8, channels: 1 } },
    )
      .png()
      .toFile(img);
    const r = await cli('explain', tiny, img, '--class', 'square', '--out', out, '--json');
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    const wxFile = j.files.find((f: string) => f.endsWith('-wx.npy'));
    const xwxFile = j.files.find((f: string) => f.endsWith('-x-times-wx.npy'));
    const wx = readNpy(wxFile);
    const xwx = readNpy(xwxFile);
    assert.deepEqual(wx.shape, [2, 8, 8]);
    assert.deepEqual(xwx.shape, [2, 8, 8]);
    const total = xwx.data.reduce((a, v) => a + v, 0);
    assert.ok(Math.abs(total - j.explanation.contributionSum) < 1e-5 * Math.max(1, Math.abs(total)));
    assert.ok(Math.abs(total + j.explanation.bias - j.explanation.logit) < 1e-4);
    assert.ok(wx.data.some((v) => v !== 0));
    // numpy itself, where the machine has it.
    const python = spawnSync(
      '/usr/bin/python3',
      [
        '-c',
        'import numpy, sys; a = numpy.load(sys.argv[1]); b = numpy.load(sys.argv[2]); print(a.dtype, a.shape, repr(float(b.sum(dtype=numpy.float64))))',
        wxFile,
        xwxFile,
      ],
      { encoding: 'utf8' },
    );
    if (python.status === 0) {
      const [dtype, ...rest] = python.stdout.trim().split(' ');
      assert.equal(dtype, 'float32');
      assert.equal(rest.slice(0, 3).join(' '), '(2, 8, 8)');
      assert.ok(Math.abs(Number(rest[3]) - total) < 1e-5 * Math.max(1, Math.abs(total)));
    }
  });
});
