import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { collectArrayScript, planRanges, singleJobScript, splitShellWords } from '../../../src/core/slurm/batchScript';
import { parseSqueue } from '../../../src/core/slurm/slurmCommands';
import { describeJobs } from '../../../src/core/slurm/jobStatus';
import { projectPlan } from '../../../src/core/plan/projectPlan';
import { forwardedArgs } from '../../../src/cli/slurm';
import { cli } from '../../support/cli';
import { defaultModelDir, tempDir } from '../../support/paths';

describe('Slurm job planning (no cluster needed)', () => {
  it('splits images into contiguous, covering ranges', () => {
    assert.deepEqual(planRanges(10, 4), [
      [0, 2],
      [2, 5],
      [5, 7],
      [7, 10],
    ]);
    assert.deepEqual(planRanges(2, 4), [
      [0, 1],
      [1, 2],
    ]);
  });

  it('writes an array script that a user can read and sbatch can run', () => {
    const s = collectArrayScript({
      store: '/s/feat',
      workDir: '/w',
      fact: ['/usr/bin/node', '/opt/fact/bin/fact.js'],
      collectArgs: ['m.onnx', '--layer', 'layer4', '--data', 'my images'],
      ranges: [
        [0, 5],
        [5, 9],
      ],
      logDir: '/s/feat/slurm/logs',
      slurm: { partition: 'gpu', gres: 'gpu:1', time: '2:00:00', sbatchArgs: ['--account=abc'] },
    });
    for (const line of [
      '#SBATCH --array=0-1',
      '#SBATCH --partition=gpu',
      '#SBATCH --gres=gpu:1',
      '#SBATCH --time=2:00:00',
      '#SBATCH --account=abc',
      '#SBATCH --comment=fact:collect:/s/feat',
      'FROM=(0 5)',
      'TO=(5 9)',
    ])
      assert.ok(s.includes(line), line);
    assert.match(
      s,
      /exec \/usr\/bin\/node \/opt\/fact\/bin\/fact.js collect m.onnx --layer layer4 --data 'my images' --out "\$PART" --range "\$\{FROM\[\$i\]\}:\$\{TO\[\$i\]\}"/,
    );
    const r = singleJobScript({
      kind: 'train',
      dir: '/c',
      workDir: '/w',
      fact: ['node', 'fact.js'],
      args: ['train', 'm.onnx'],
      logDir: '/c/slurm/logs',
      slurm: { requeue: true },
    });
    assert.match(r, /#SBATCH --requeue\n#SBATCH --open-mode=append\n#SBATCH --signal=B:USR1@90/);
    assert.match(r, /trap .*kill -INT \$PID.*scontrol requeue/);
  });

  it('splits --sbatch-args like a shell and forwards the command without its Slurm options', () => {
    assert.deepEqual(splitShellWords(`--account=x --constraint="a100 | h100" --qos 'long'`), [
      '--account=x',
      '--constraint=a100 | h100',
      '--qos',
      'long',
    ]);
    assert.deepEqual(
      forwardedArgs(
        ['collect', 'm', '--slurm', '--tasks', '8', '--layer', 'l', '--out=S', '--sbatch-args=--qos=x', '--requeue', '--json'],
        ['out'],
      ),
      ['collect', 'm', '--layer', 'l'],
    );
  });

  it('reads squeue: array tasks, progress of a part-store, log paths', () => {
    const jobs = parseSqueue(
      '12_3|fact-collect|RUNNING|0:05|30:00|None|fact:collect:/s/feat\n13|fact-merge|PENDING|0:00|30:00|Dependency|fact:merge:/s/feat\n14|other|RUNNING|1:00|1:00|None|(null)\n',
    );
    assert.equal(jobs[0]!.arrayTaskId, 3);
    assert.equal(jobs[0]!.arrayJobId, '12');
    const mine = describeJobs(jobs);
    assert.deepEqual(
      mine.map((j) => [j.id, j.kind, j.log]),
      [
        ['12_3', 'collect', path.join('/s/feat/slurm/logs/collect-12_3.out')],
        ['13', 'merge', '/s/feat/slurm/logs/merge-13.out'],
      ],
    );
    assert.equal(mine[0]!.progress, 'not started');
  });

  it('projects an ImageNet-scale collection: store size and wall time scale as they must', () => {
    const p = projectPlan({
      images: 1_281_167,
      samplesPerImage: 18,
      dim: 2048,
      nodes: [1, 8, 64],
      collectImagesPerSecond: 10,
      trainVectorsPerSecond: 1e5,
      dictSize: 8192,
      epochs: 1,
      batchSize: 4096,
      shuffleWindow: 4,
      shardVectors: 65536,
    });
    assert.equal(p.vectors, 1_281_167 * 18);
    assert.ok(Math.abs(p.storeGB.float16 - (p.vectors * (2048 * 2 + 8)) / 1e9) < 1e-9);
    assert.ok(Math.abs(p.rows[0]!.collectSeconds / p.rows[2]!.collectSeconds - 64) < 1e-9);
    assert.ok(Math.abs(p.trainSeconds - p.vectors / 1e5) < 1e-6);
  });

  it('--slurm without sbatch on the PATH says so and submits nothing', async () => {
    const saved = process.env.PATH;
    process.env.PATH = tempDir('fact-nopath-');
    try {
      const out = path.join(tempDir('fact-noslurm-'), 'features');
      const r = await cli('collect', path.join(defaultModelDir, 'model.onnx'), '--layer', 'layer3', '--out', out, '--slurm');
      assert.equal(r.code, 1);
      assert.match(r.err, /--slurm needs Slurm's `sbatch` on the PATH, and there is none/);
    } finally {
      process.env.PATH = saved;
    }
  });
});
