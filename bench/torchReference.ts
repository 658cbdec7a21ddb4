// The PyTorch reference's environment, probed once and described honestly: which interpreter, which BLAS its matrix
// products really load (read from the process's own memory map after a product, not guessed from file names), and
// whether its convolutions run on oneDNN. Debian's python3-torch calls libblas.so.3, which is the netlib reference
// BLAS unless an optimised one (libopenblas0-openmp) is installed; a ratio against that would flatter us, so the
// benches print no ratio against an unoptimised reference.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';

export const python = process.env.FACT_BENCH_PYTHON || '/usr/bin/python3';
const tcmalloc = '/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4';

export interface TorchReference {
  ok: boolean;
  /** Why there is no PyTorch reference at all. */
  why?: string;
  env: NodeJS.ProcessEnv;
  allocator: string;
  torch: string;
  /** The BLAS library the process mapped after a matrix product. */
  blas: string;
  /** True when that BLAS is an optimised one (OpenBLAS, MKL, BLIS); false for the netlib reference BLAS. */
  blasOptimised: boolean;
  /** oneDNN (MKL-DNN) version when PyTorch's CPU convolutions use it, else ''. */
  onednn: string;
  /** One line for the bench header. */
  summary: string;
}

const probeScript = `
import json, re, torch
a = torch.randn(256, 256); (a @ a).sum()
libs = sorted({l.split()[-1] for l in open('/proc/self/maps') if re.search(r'blas|mkl_|blis|dnnl', l.split()[-1])})
cfg = torch.__config__.show()
m = re.search(r'MKL-DNN v([0-9.]+)', cfg) or re.search(r'oneDNN v([0-9.]+)', cfg)
print(json.dumps({"torch": torch.__version__, "libs": libs, "mkldnn": torch.backends.mkldnn.is_available(), "onednn": m.group(1) if m else ""}))
`;

const cache = new Map<string, TorchReference>();

export function torchReference(modules = ['torch']): TorchReference {
  const key = modules.join(',');
  const known = cache.get(key);
  if (known) return known;
  const found = probe(modules);
  cache.set(key, found);
  return found;
}

function probe(modules: string[]): TorchReference {
  const env: NodeJS.ProcessEnv = { ...process.env };
  const allocator = existsSync(tcmalloc) ? 'tcmalloc-minimal' : 'glibc malloc';
  if (existsSync(tcmalloc)) env.LD_PRELOAD = tcmalloc;
  // ORT runs with spinning off in our engine (src/core/onnx/session.ts); PyTorch's OpenMP threads spin by default,
  // which on a busy 2-core machine made its timings 5–10× slower. Same policy for both unless the caller sets one.
  env.OMP_WAIT_POLICY ??= 'PASSIVE';
  const none = (why: string): TorchReference => ({
    ok: false,
    why,
    env,
    allocator,
    torch: '',
    blas: '',
    blasOptimised: false,
    onednn: '',
    summary: `PyTorch: none (${why})`,
  });
  if (!existsSync(python)) return none(`${python} does not exist`);
  const imports = spawnSync(python, ['-c', `import ${modules.join(', ')}`], { encoding: 'utf8', env });
  if (imports.status !== 0)
    return none(`${python} -c 'import ${modules.join(', ')}' failed (${lastLine(imports.stderr || imports.error?.message || '')})`);
  const probed = spawnSync(python, ['-c', probeScript], { encoding: 'utf8', env });
  if (probed.status !== 0) return none(`the PyTorch probe failed (${lastLine(probed.stderr)})`);
  const p = JSON.parse(lastLine(probed.stdout)) as { torch: string; libs: string[]; mkldnn: boolean; onednn: string };
  const blasLib =
    p.libs.find((l) => /openblas|mkl_|blis/.test(path.basename(l))) ??
    p.libs.find((l) => /openblas|mkl_|blis/.test(l)) ??
    p.libs.find((l) => /blas/.test(l)) ??
    '(none mapped)';
  const blasOptimised = /openblas|mkl_|blis/.test(blasLib);
  const blas = blasOptimised ? path.basename(blasLib) + ` (${path.dirname(blasLib)})` : `reference BLAS ${blasLib}`;
  const onednn = p.mkldnn ? p.onednn || 'yes' : '';
  const summary = `PyTorch ${p.torch}: BLAS ${blas}${blasOptimised ? '' : ' — NOT optimised: sudo apt-get install libopenblas0-openmp'}; convolutions ${onednn ? `oneDNN ${onednn}` : 'ATen (no oneDNN)'}; ${allocator}; OMP_WAIT_POLICY=${env.OMP_WAIT_POLICY}`;
  return { ok: true, env, allocator, torch: p.torch, blas, blasOptimised, onednn, summary };
}

function lastLine(s: string): string {
  return s.trim().split('\n').pop() ?? '';
}
