// A Slurm collection's plan (STORE/slurm/collect.json) is a file a shared store brings along: resuming submits the
// store's own scripts (fixed names in its slurm/ folder, contained), never a path the plan names.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { isFactError } from '../../../src/core/errors';
import { readCollectPlan } from '../../../src/core/slurm/slurmCollect';
import { tempDir } from '../../support/paths';

describe('the Slurm collection plan', () => {
  it("submits the store's own scripts, refuses scripts linking out and damaged ranges, naming the file and field", async () => {
    const store = tempDir('fact-plan-');
    const dir = path.join(store, 'slurm');
    mkdirSync(dir);
    const file = path.join(dir, 'collect.json');
    const plan = {
      format: 1,
      kind: 'fact-slurm-collect',
      store,
      ranges: [
        [0, 5],
        [5, 10],
      ],
      script: '/bin/evil',
      mergeScript: '../../../tmp/evil',
      submissions: [],
    };
    writeFileSync(file, JSON.stringify(plan));
    writeFileSync(path.join(dir, 'collect.sbatch'), '#!/bin/sh\n');
    writeFileSync(path.join(dir, 'merge.sbatch'), '#!/bin/sh\n');
    const read = await readCollectPlan(store);
    assert.deepEqual([read?.script, read?.mergeScript], [path.join(dir, 'collect.sbatch'), path.join(dir, 'merge.sbatch')]);
    rmSync(path.join(dir, 'merge.sbatch'));
    symlinkSync('/bin/sh', path.join(dir, 'merge.sbatch'));
    await assert.rejects(
      readCollectPlan(store),
      (e: unknown) =>
        isFactError(e) && e.message.includes(file) && e.message.includes('"mergeScript"') && /outside the folder/.test(e.message),
    );
    writeFileSync(file, JSON.stringify({ ...plan, ranges: [[0, 'x']] }));
    await assert.rejects(
      readCollectPlan(store),
      (e: unknown) => isFactError(e) && e.message.includes(file) && e.message.includes('"ranges"'),
    );
  });
});
