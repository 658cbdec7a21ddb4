// The options of `fact plan`, declared apart from its code so that commands.ts can list them (and --help print
// them) without loading the planner, and the planner gets their parsed types.
import { opt } from './options';

export const planOptions = {
  layer: opt.stringRequired('L', 'the layer (as `fact inspect` lists it)'),
  'dataset-size': opt.intRequired('N', 'images in the dataset'),
  nodes: opt.string('1,8,64', 'node counts to project'),
  samples: opt.int('S', 'locations sampled per image'),
  k: opt.int('K', 'active concepts per vector (default 32)'),
  'dict-size': opt.int('M', 'number of concepts (default 8192)'),
  epochs: opt.int('E', 'training epochs (default 1)'),
  batch: opt.int('B', 'training batch (default 4096)'),
  'gpu-images-per-s': opt.number('X', 'project collection at this rate instead of the measured one'),
  'gpu-vectors-per-s': opt.number('Y', 'project training at this rate instead of the measured one'),
};
