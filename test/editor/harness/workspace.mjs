// Prepares the folder the editor tests open: <root>/.harness/workspace/, recreated at every run.
//   models/fashion-mnist-bcos/        copied from the extension root, when that folder exists
//   models/tiny/tiny.onnx             copied from test/fixtures/tiny/tiny.onnx, when it exists
//   <test/editor/workspace-template/> its contents copied into the workspace root, when it exists
// Copies (not symlinks), so tests may write into the workspace without touching the repository.

import fs from 'node:fs';
import path from 'node:path';
import { EXTENSION_ROOT, WORKSPACE_DIR } from './paths.mjs';

export function prepareWorkspace({ root = EXTENSION_ROOT, dir = WORKSPACE_DIR, log = console.log } = {}) {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const copied = [];
  const copy = (from, to) => {
    const src = path.join(root, from);
    if (!fs.existsSync(src)) return;
    fs.cpSync(src, path.join(dir, to), { recursive: true, dereference: true });
    copied.push(from);
  };
  copy('models/fashion-mnist-bcos', 'models/fashion-mnist-bcos');
  copy('test/fixtures/tiny/tiny.onnx', 'models/tiny/tiny.onnx');
  copy('test/editor/workspace-template', '.');
  log(`workspace: ${dir} (${copied.length ? copied.join(', ') : 'empty'})`);
  return dir;
}
