// Regenerates test/fixtures/tiny/: the tiny B-cos graphs that unit and editor tests open as files.
// Run: npx tsx test/support/makeTinyFixtures.ts
import { writeFileSync, mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { encodeModel } from '../../src/core/onnx/modelFile';
import { buildTinyBcosModel } from './tinyBcos';
import { fixtures } from './paths';

const dir = path.join(fixtures, 'tiny');
mkdirSync(dir, { recursive: true });
writeFileSync(path.join(dir, 'tiny.onnx'), encodeModel(buildTinyBcosModel()));
writeFileSync(
  path.join(dir, 'card.json'),
  `${JSON.stringify({ format: 1, name: 'tiny-bcos', displayName: 'Tiny B-cos test model', model: 'tiny.onnx', classes: ['circle', 'square', 'triangle'], layers: [{ name: 'layer2', tensor: 'layer2', shape: [8, 8, 8] }] }, null, 2)}\n`,
);
const rgb = path.join(dir, 'encoding-in-graph');
mkdirSync(rgb, { recursive: true });
writeFileSync(path.join(rgb, 'tiny-rgb.onnx'), encodeModel(buildTinyBcosModel({ channels: 3, encodingInGraph: true })));
console.log(`wrote ${dir}`);
