// The SAE workflow in the real editor, on the tiny test model and a generated image folder: FaCT: Train SAE (input
// boxes with defaults, a job, live curves in the training panel, Cancel and Resume), Evaluate SAE, Open Concept
// (quick pick by mean contribution → concept panel), Measure Consistency (foundation model asked for → consistency
// panel), Explain Image through the SAE (concept slots, strips, completeness, report), Choose SAE…, the tree's SAE
// items and actions, the status bar's SAE item, and both hover previews on a Python file.
import * as assert from 'node:assert/strict';
import { existsSync, mkdirSync, promises as fs, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import * as vscode from 'vscode';
import { GraphBuilder, attr } from '../../../src/core/onnx/graphBuilder';
import { encodeModel } from '../../../src/core/onnx/modelFile';
import type { FactApi } from '../../../src/extension/extension';
import type { FactNode, LayerNode, ModelNode, SaeNode } from '../../../src/extension/tree/factTree';
import type { PickItem } from '../../../src/extension/ui';
import { factApi, waitFor, webviewTabs, workspaceRoot } from './helpers';

const CLASSES = ['circle', 'square', 'triangle'];

function tiny(): string {
  const file = path.join(workspaceRoot(), 'models', 'tiny', 'tiny.onnx');
  assert.ok(existsSync(file), `${file} exists (the harness copies the tiny model into the workspace)`);
  return file;
}

const scratch = () => path.join(workspaceRoot(), '.fact-test-sae');
const dataDir = () => path.join(scratch(), 'data');
const foundationFile = () => path.join(scratch(), 'foundation.onnx');
const image = (cls: string, i: number) => path.join(dataDir(), cls, `${i}.png`);

async function makeData(): Promise<void> {
  for (let i = 0; i < 48; i++) {
    const dir = path.join(dataDir(), CLASSES[i % 3]!);
    mkdirSync(dir, { recursive: true });
    const px = Uint8Array.from({ length: 64 }, (_, p) => ((p % 8) * ((i % 5) + 1) * 20 + Math.floor(p / 8) * (i % 3) * 15) % 256);
    await sharp(px, { raw: { width: 8, height: 8, channels: 1 } })
      .png()
      .toFile(path.join(dir, `${i}.png`));
  }
  // A small foundation model for C² (an ONNX feature extractor: image → N×D×h×w).
  const g = new GraphBuilder('foundation');
  g.input('image', 'float32', ['N', 1, 8, 8]);
  g.op(
    'Relu',
    [
      g.op(
        'Conv',
        [
          'image',
          g.constant(
            'w',
            'float32',
            [4, 1, 3, 3],
            Float32Array.from({ length: 36 }, (_, i) => Math.sin(i)),
          ),
        ],
        { pads: attr.ints([1, 1, 1, 1]), strides: attr.ints([2, 2]) },
      ),
    ],
    {},
    'features',
  );
  g.output('features');
  writeFileSync(foundationFile(), encodeModel(g.model()));
}

async function saeNodes(api: FactApi, model: string, layer: string): Promise<SaeNode[]> {
  const roots = (await api.tree.getChildren()) as ModelNode[];
  const m = roots.find((r) => r.file === model);
  assert.ok(m, `the view lists ${model}`);
  const layers = (await api.tree.getChildren(m)) as FactNode[];
  const l = layers.find((n): n is LayerNode => n.kind === 'layer' && n.label === layer);
  assert.ok(l, `layer ${layer} is listed`);
  return (await api.tree.getChildren(l)) as SaeNode[];
}

/** Answers quick picks and input boxes in order; records what was asked. */
function script(
  api: FactApi,
  answers: {
    pick?: (items: PickItem<unknown>[], title: string) => PickItem<unknown> | undefined;
    input?: (value: string | undefined, prompt: string) => string | undefined;
    open?: (o: vscode.OpenDialogOptions) => vscode.Uri[] | undefined;
  },
) {
  const asked = {
    picks: [] as { title: string; labels: string[] }[],
    inputs: [] as { prompt: string; value: string | undefined }[],
    infos: [] as string[],
    errors: [] as string[],
  };
  const restore = api.scriptUi({
    quickPick: async (items, o) => {
      const all = (await items) as PickItem<unknown>[];
      asked.picks.push({ title: o.title ?? '', labels: all.map((i) => i.label) });
      return answers.pick?.(all, o.title ?? '') as never;
    },
    inputBox: async (o) => {
      asked.inputs.push({ prompt: o.prompt ?? '', value: o.value });
      return answers.input ? answers.input(o.value, o.prompt ?? '') : o.value;
    },
    openDialog: async (o) => answers.open?.(o),
    info: async (m) => {
      asked.infos.push(m);
      return undefined;
    },
    error: async (m) => {
      asked.errors.push(m);
      return undefined;
    },
  });
  return { asked, restore };
}

suite('FaCT: SAEs (tiny model)', function () {
  this.timeout(60_000);
  let api: FactApi;
  let model: string;
  let sae: string;

  suiteSetup(async () => {
    api = await factApi();
    model = tiny();
    await fs.rm(scratch(), { recursive: true, force: true });
    for (const d of ['features', 'saes']) await fs.rm(path.join(path.dirname(model), d), { recursive: true, force: true });
    await makeData();
    await api.choices.setModel(model);
    const m = await api.collectFeatures({ model, layer: 'layer2', dataset: { kind: 'folder', path: dataDir() } });
    assert.ok(m?.complete, 'features of layer2 were collected');
  });

  suiteTeardown(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    await api.choices.setSae(model, undefined);
    await fs.rm(scratch(), { recursive: true, force: true });
    for (const d of ['features', 'saes']) await fs.rm(path.join(path.dirname(model), d), { recursive: true, force: true });
  });

  test("Train SAE shows k and the dictionary size with defaults, trains as a job with live curves, and makes it the model's SAE", async () => {
    const { asked, restore } = script(api, {});
    let result;
    const views: number[] = [];
    try {
      const running = vscode.commands.executeCommand('fact.trainSae');
      const out = path.join(path.dirname(model), 'saes', 'layer2', 'k2-64');
      const panel = await waitFor('the training panel', () => api.trainingPanel(out), 20_000);
      const sub = setInterval(() => views.push(panel.currentView?.points.length ?? 0), 50);
      result = await running;
      clearInterval(sub);
      sae = out;
      const v = panel.currentView!;
      assert.equal(v.status, 'succeeded');
      assert.ok(v.points.length >= 2, `the curves have points (${v.points.length})`);
      for (const p of v.points)
        assert.ok(Number.isFinite(p.loss) && p.fvu >= 0 && p.l0 > 0 && p.dead >= 0, 'loss, FVU, L0 and dead latents are reported');
      assert.ok(panel.posts >= 2, 'the panel was updated while training ran');
      await waitFor('the training tab', () => webviewTabs('fact.training').find((t) => t.label === 'Training: k2-64'));
    } finally {
      restore();
    }
    assert.ok(result, 'the command returned the training result');
    assert.deepEqual(
      asked.inputs.map((i) => i.value),
      ['64', '2'],
      'defaults: 8 concepts per channel (8 channels), k 2',
    );
    assert.match(asked.inputs[0]!.prompt, /Dictionary size .* layer2 \(8 channels/);
    assert.match(asked.inputs[1]!.prompt, /k: concepts active per feature vector/);
    assert.equal(asked.picks.length, 0, 'the only feature store was used without asking');
    assert.ok(existsSync(path.join(sae, 'cfg.json')) && existsSync(path.join(sae, 'training-log.json')));
    assert.equal(api.choices.sae(model), sae, "the new SAE is the model's");
    assert.match(asked.infos.join('\n'), /trained SAE layer2\/k2-64 \(layer2, k 2, 64 concepts\)/);
    assert.ok(views.some((n) => n > 0 && n < views.at(-1)!) || views.at(-1)! > 0, 'points arrived');
  });

  test('a training run is cancelled (its state saved) and resumed: the curves continue', async () => {
    const features = path.join(path.dirname(model), 'features', 'layer2');
    const out = path.join(path.dirname(model), 'saes', 'layer2', 'long');
    const { restore } = script(api, {});
    try {
      const first = api.trainSae({ model, features, out, k: 2, dictSize: 32, epochs: 400 });
      const session = await waitFor('the session', () => api.training.get(out));
      await waitFor('two reports', () => session.points.length >= 2, 30_000);
      const job = api.jobs.find('train', out)!;
      assert.ok(job, 'training runs as a job');
      const panel = api.trainingPanel(out)!;
      assert.equal(panel.currentView?.status, 'running');
      api.jobs.cancel(job.id);
      assert.equal(await first, undefined, 'a cancelled run returns nothing');
      assert.equal(session.status, 'cancelled');
      assert.ok(existsSync(path.join(out, 'train-state.json')), 'the state was saved');
      await waitFor('Resume to be offered', () => panel.currentView?.resumable === true && panel.currentView.status === 'cancelled');
      const lastStep = session.points.at(-1)!.step;
      // What the panel's Resume button does.
      const second = vscode.commands.executeCommand('fact.resumeTraining', { out });
      await waitFor(
        'a report of the resumed run',
        () => (session.current?.points.length ?? 0) >= 1 && session.log.runs.length === 2,
        30_000,
      );
      assert.ok(session.current!.resumed);
      assert.ok(
        session.current!.points[0]!.step > lastStep,
        `the resumed run continues after step ${lastStep} (at ${session.current!.points[0]!.step})`,
      );
      assert.deepEqual(panel.currentView!.breaks, [session.current!.points[0]!.step], 'the chart marks where the resumed run starts');
      api.jobs.cancel(api.jobs.find('train', out)!.id);
      await second;
    } finally {
      restore();
      // The worker saves the state of a cancelled run just after the call settled: retry while it writes.
      await fs.rm(out, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
    }
  });

  test('Evaluate SAE asks for images when the card has no test split and runs as a job; the tree shows its numbers', async () => {
    const { asked, restore } = script(api, { open: () => [vscode.Uri.file(dataDir())] });
    let r;
    try {
      r = await vscode.commands.executeCommand<{ metrics: { images: number; accuracyWithSae: number } } | undefined>('fact.evaluateSae');
    } finally {
      restore();
    }
    assert.ok(r, 'evaluated');
    assert.equal(r.metrics.images, 48);
    assert.match(asked.infos[0] ?? '', /SAE layer2\/k2-64 evaluated on 48 images: accuracy with the SAE \d+\.\d %/);
    const [node] = (await saeNodes(api, model, 'layer2')).filter((n) => n.info.dir === sae);
    assert.ok(node);
    const item = api.tree.getTreeItem(node);
    assert.match(String(item.description), /^active · k 2 · 64 latents · acc \d+\.\d % · FVU [\d.]+$/);
    assert.match((item.tooltip as vscode.MarkdownString).value, /Accuracy with the SAE: \d+\.\d % \(without: \d+\.\d %\) on 48 images/);
    assert.equal(item.contextValue, 'fact.sae.log');
  });

  test('Open Concept lists the concepts by mean contribution, then the concept panel shows its top images, statistics and classes', async () => {
    let offered: PickItem<unknown>[] = [];
    const { asked, restore } = script(api, {
      pick: (items) => {
        offered = items;
        return items[0];
      },
    });
    let panel;
    try {
      panel = await vscode.commands.executeCommand<{ currentView: unknown } | undefined>('fact.openConcept');
    } finally {
      restore();
    }
    assert.ok(panel);
    assert.equal(asked.picks.length, 1, 'only the concept was asked (model and SAE inferred)');
    assert.match(asked.picks[0]!.title, /concepts of SAE layer2\/k2-64 .* by mean contribution/);
    const contributions = offered.map((i) => Number(/mean contribution ([-−]?[\d.]+)/.exec(i.description ?? '')![1]!.replace('−', '-')));
    assert.deepEqual(
      contributions,
      [...contributions].sort((a, b) => b - a),
      'sorted by mean contribution',
    );
    const concept = offered[0]!.value as number;
    const p = api.conceptPanel()!;
    const v = await waitFor('the concept', () => p.currentView, 20_000);
    assert.equal(v.concept, concept);
    assert.equal(v.rank, 1);
    assert.ok(v.top.length > 0 && v.top.length <= 16);
    assert.match(v.strip ?? '', /^data:image\/png;base64,iVBOR/);
    assert.ok(v.classes.length > 0);
    assert.equal(v.c2, null, 'no C² before it is measured');
    await waitFor('the concept tab', () => webviewTabs('fact.concept').find((t) => t.label === `Concept ${concept}`));
  });

  test('Measure Consistency asks for the foundation model, runs as a job and opens the consistency panel', async () => {
    const { restore } = script(api, { open: () => [vscode.Uri.file(foundationFile())] });
    let r;
    try {
      r = await vscode.commands.executeCommand<{ mean: number; concepts: unknown[] } | undefined>('fact.measureConsistency');
    } finally {
      restore();
    }
    assert.ok(r && Number.isFinite(r.mean));
    const p = await waitFor('the consistency panel', () => api.consistencyPanel(sae)?.currentView && api.consistencyPanel(sae));
    const v = p.currentView!;
    assert.equal(v.rows.length, r.concepts.length);
    assert.ok(
      v.rows.every((row) => Number.isFinite(row.score)),
      "the panel draws its histogram from the rows' scores",
    );
    assert.equal(v.foundation, 'foundation.onnx');
    assert.ok(
      v.rows.every((row) => row.frequency !== null),
      'rows carry the atlas statistics',
    );
    await waitFor('the C² tab', () => webviewTabs('fact.consistency').find((t) => t.label === 'C²: layer2/k2-64'));
    // The concept panel now shows the concept's C².
    const cp = api.conceptPanel()!;
    const concept = cp.currentTarget.concept;
    await cp.load({ ...cp.currentTarget });
    const cv = cp.currentView!;
    const row = v.rows.find((x) => x.concept === concept);
    if (row) assert.equal(cv.c2, row.score);
  });

  test('Explain Image through the SAE fills the concept slots: contributions, traces, top images and Σ c_k + bias = logit', async () => {
    const panel = await api.explainImage({ model, image: image('circle', 0) });
    assert.ok(panel);
    const slots = await waitFor(
      'the concept slots',
      () => panel.concepts.status === 'ready' && panel.concepts.stripsStatus === 'ready' && panel.concepts,
      30_000,
    );
    const c = slots.view!;
    assert.equal(c.sae, sae);
    assert.equal(c.classIndex, panel.currentView!.classIndex, 'the same logit as the plain explanation');
    assert.ok(Math.abs(c.conceptSum + c.bias - c.logit) < 1e-4, 'Σ c_k + bias = logit');
    assert.ok(c.traced.length >= 1 && c.traced.length <= 6);
    const shares = c.traced.map((t) => t.share);
    assert.deepEqual(
      shares,
      [...shares].sort((a, b) => b - a),
      'the traced concepts come largest first',
    );
    assert.equal(slots.strips.length, c.traced.length, 'each traced concept has its top images');
    for (const t of c.traced) assert.match(t.png, /^data:image\/png;base64,/);
    for (const t of c.top) assert.ok(Number.isFinite(t.modelLogit), "each class with the SAE has the model's own logit beside it");
    // The strips arrive one by one without the concepts view being sent again: with the page showing, explain again;
    // since that explanation started, one concepts message carries the view's pictures, and each strip's picture
    // is sent once.
    const loads = panel.loads;
    await vscode.commands.executeCommand('workbench.action.files.newUntitledFile');
    await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
    panel.reveal();
    await waitFor('the explain page to load', () => panel.loads > loads && panel.pageReady, 30_000);
    await panel.explain({ model, image: image('circle', 0), classIndex: c.classIndex });
    const again = await waitFor(
      'the concept slots again',
      () => panel.concepts.status === 'ready' && panel.concepts.stripsStatus === 'ready' && panel.concepts,
      30_000,
    );
    const log = panel.postLog.slice(panel.postLog.map((m) => m.type).lastIndexOf('mark:explain') + 1);
    assert.equal(log.filter((m) => m.type === 'concepts' && m.dataUris > 0).length, 1, `posts: ${JSON.stringify(log)}`);
    assert.equal(
      log.filter((m) => m.type === 'strips').reduce((a, m) => a + m.dataUris, 0),
      again.strips.length,
      `posts: ${JSON.stringify(log)}`,
    );
    // …and the HTML report carries them.
    const file = path.join(scratch(), 'report.html');
    await panel.exportReport(vscode.Uri.file(file));
    const html = await fs.readFile(file, 'utf8');
    assert.match(html, /Σ c_k \+ bias = logit/);
    assert.match(html, /<svg class="bars"/);
    assert.equal((html.match(/alt="top images of concept/g) ?? []).length, c.traced.length);
    assert.doesNotMatch(html, /<script|src="http/i);
  });

  test('Choose SAE… → No SAE explains without concepts; choosing it again brings them back', async () => {
    const panel = api.explainPanel()!;
    let labels: string[] = [];
    let { restore } = script(api, {
      pick: (items) => {
        labels = items.map((i) => i.label);
        return items.find((i) => i.label === 'No SAE');
      },
    });
    try {
      assert.equal(await vscode.commands.executeCommand('fact.selectSae'), null);
    } finally {
      restore();
    }
    assert.deepEqual(labels, ['layer2/k2-64', 'No SAE', 'Browse…']);
    await waitFor('no concepts', () => panel.concepts.status === 'none', 20_000);
    assert.match(panel.concepts.message ?? '', /without an SAE/);
    assert.equal(api.statusText().sae?.text, '$(symbol-class) no SAE');
    ({ restore } = script(api, { pick: (items) => items.find((i) => i.label === 'layer2/k2-64') }));
    try {
      assert.equal(await vscode.commands.executeCommand('fact.selectSae'), sae);
    } finally {
      restore();
    }
    await waitFor('the concepts again', () => panel.concepts.status === 'ready', 20_000);
    assert.equal(api.statusText().sae?.text, '$(symbol-class) SAE layer2/k2-64');
    assert.match(api.statusText().sae?.tooltip ?? '', /k 2 · 64 concepts · acc \d/);
  });

  test("the tree's SAE actions: use, explain an image with it, open concepts, show consistency, evaluate, reveal", async () => {
    const [node] = (await saeNodes(api, model, 'layer2')).filter((n) => n.info.dir === sae);
    assert.ok(node);
    const item = api.tree.getTreeItem(node);
    assert.match(String(item.description), /acc \d+\.\d % · C² -?\d\.\d{3} · FVU/);
    assert.equal(item.contextValue, 'fact.sae.consistency.log');
    await api.choices.setSae(model, undefined);
    await vscode.commands.executeCommand('fact.useSae', node);
    assert.equal(api.choices.sae(model), sae);
    const { asked, restore } = script(api, {
      open: (o) => [vscode.Uri.file(o.canSelectFolders ? dataDir() : image('square', 1))],
      pick: (items) => items[1],
    });
    try {
      await vscode.commands.executeCommand('fact.explainImageWithSae', node);
      const panel = api.explainPanel()!;
      await waitFor(
        'the square explained through the SAE',
        () => panel.currentView?.imageName === '1.png' && panel.concepts.status === 'ready',
        30_000,
      );
      const cp = await vscode.commands.executeCommand<unknown>('fact.openConcept', node);
      assert.ok(cp, 'Open Concept from the tree');
      assert.equal(asked.picks.length, 1, 'only the concept was asked');
      const consistency = await vscode.commands.executeCommand<unknown>('fact.showConsistency', node);
      assert.ok(consistency, 'Show Consistency Report from the tree');
      assert.ok(await vscode.commands.executeCommand('fact.evaluateSae', node), 'Evaluate SAE from the tree (asks for the images)');
      await vscode.commands.executeCommand('fact.revealInExplorer', node);
    } finally {
      restore();
    }
  });

  test('from a layer without features Train SAE offers to collect them first; untrusted, the SAE commands say why not', async () => {
    const roots = (await api.tree.getChildren()) as ModelNode[];
    const layers = (await api.tree.getChildren(roots.find((r) => r.file === model)!)) as LayerNode[];
    const layer3 = layers.find((l) => l.label === 'layer3')!;
    let labels: string[] = [];
    let restore = api.scriptUi({
      quickPick: async (items) => {
        labels = (await items).map((i) => i.label);
        return undefined;
      },
    });
    try {
      assert.equal(await vscode.commands.executeCommand('fact.trainSae', layer3), undefined, 'dismissed: nothing trained');
    } finally {
      restore();
    }
    assert.deepEqual(labels, ['Collect features of layer3 first…', 'Browse…']);
    const warnings: string[] = [];
    restore = api.scriptUi({
      isTrusted: () => false,
      warn: async (m) => {
        warnings.push(m);
        return undefined;
      },
    });
    try {
      for (const c of ['fact.trainSae', 'fact.evaluateSae', 'fact.measureConsistency', 'fact.openConcept'])
        assert.equal(await vscode.commands.executeCommand(c), undefined, c);
    } finally {
      restore();
    }
    assert.deepEqual(
      warnings.map((w) => /so it cannot (.*)\. Trust/.exec(w)?.[1]),
      ['train an SAE', 'evaluate an SAE', 'measure concept consistency', 'open a concept'],
    );
  });

  test('hovers in a Python file: a layer with an SAE shows its metrics and top concepts; an image path its prediction', async () => {
    const file = path.join(scratch(), 'tiny_model.py');
    await fs.writeFile(
      file,
      [
        'class Tiny(nn.Module):',
        '    def forward(self, x):',
        '        x = self.layer1(x)',
        '        return self.layer2(x)',
        '',
        "SAMPLE = 'data/circle/0.png'",
        '',
      ].join('\n'),
    );
    const doc = await vscode.workspace.openTextDocument(file);
    await vscode.window.showTextDocument(doc);
    api.hovers.clear();
    const hover = async (line: number, ch: number) => {
      const hs = await vscode.commands.executeCommand<vscode.Hover[]>(
        'vscode.executeHoverProvider',
        doc.uri,
        new vscode.Position(line, ch),
      );
      return hs.flatMap((h) => h.contents.map((c) => (typeof c === 'string' ? c : (c as vscode.MarkdownString).value))).join('\n');
    };
    // The layer: the first hover has the checkpoint's numbers at once; the top concepts follow.
    let text = await hover(3, 22);
    assert.match(text, /SAE `layer2\/k2-64` on layer `layer2`/);
    assert.match(text, /accuracy with the SAE \*\*/);
    const started = api.hovers.stats().started;
    await hover(3, 20); // again while it may still compute: never started twice
    await api.hovers.settled();
    assert.equal(api.hovers.stats().started, started, 'the same background work is not started twice');
    text = await hover(3, 18);
    assert.match(text, /Top concepts by mean contribution/);
    assert.match(text, /<img src="data:image\/png;base64,/);
    assert.match(text, /command:fact\.openConcept/);
    assert.ok(text.length < 100_000, `small enough for a hover (${text.length} characters)`);
    assert.equal(await hover(2, 18), '', 'layer1 has no SAE: no FaCT hover');
    // The image path.
    await hover(5, 14);
    await api.hovers.settled();
    text = await hover(5, 14);
    assert.match(text, /`0\.png` through SAE `layer2\/k2-64`/);
    assert.match(text, /Predicted \*\*(circle|square|triangle|class \d)\*\*/);
    assert.match(text, /Σ c_k \+ bias = logit/);
    assert.match(text, /<img src="data:image\/png;base64,[^"]+" width="48" height="48" alt="trace of concept \d+">/);
    await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
  });
});
