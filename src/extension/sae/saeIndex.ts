// The SAE checkpoints of each model, read from disk once and kept until a checkpoint file changes, and the SAE a
// model uses: the one chosen for it (FaCT: Choose SAE…, remembered per workspace), else its only checkpoint.
// Choosing "no SAE" is remembered as an empty string. No `vscode` import: the file watcher that calls
// `invalidate` is wired up at activation.
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { checkpointFiles } from '../../core/sae/saeFolder';
import type { ModelEnv } from '../models';
import type { Choices } from '../state/choices';
import type { SaeCheckpointInfo } from '../tree/saeCheckpoints';
import { Emitter } from '../util/emitter';
import { modelCheckpoints, saeDisplayName } from './saeFiles';

/** The remembered choice "explain without an SAE". */
export const NO_SAE = '';

export interface EffectiveSae {
  /** The checkpoint folder, or undefined when the model has none or none is wanted. */
  dir?: string;
  /** How it was decided. */
  why: 'chosen' | 'only' | 'none-chosen' | 'none-found' | 'several';
  checkpoints: SaeCheckpointInfo[];
}

export class SaeIndex {
  private readonly cache = new Map<string, Promise<SaeCheckpointInfo[]>>();
  private readonly settled = new Map<string, SaeCheckpointInfo[]>();
  private readonly changed = new Emitter<void>();
  /** Fires when checkpoints may have changed on disk. */
  readonly onDidChange = this.changed.event;

  constructor(
    private readonly choices: Choices,
    private readonly env: () => ModelEnv,
  ) {}

  /** The checkpoints of `model` (cached until `invalidate`). */
  list(model: string): Promise<SaeCheckpointInfo[]> {
    let p = this.cache.get(model);
    if (!p) {
      p = modelCheckpoints(model, this.env());
      this.cache.set(model, p);
      p.then(
        (list) => this.settled.set(model, list),
        () => this.cache.delete(model),
      );
    }
    return p;
  }

  /** What `list` last returned, without waiting (undefined before the first read). */
  peek(model: string): SaeCheckpointInfo[] | undefined {
    return this.settled.get(model);
  }

  invalidate(): void {
    this.cache.clear();
    this.changed.fire();
  }

  /** The SAE the model uses now, and why. */
  async effective(model: string): Promise<EffectiveSae> {
    const checkpoints = await this.list(model);
    return decide(this.choices.sae(model), checkpoints);
  }

  /** `effective` from what is known now (status bar): the chosen one, else the only one found so far. */
  peekEffective(model: string): EffectiveSae | undefined {
    const list = this.peek(model);
    const chosen = this.choices.sae(model);
    if (!list) return chosen ? decide(chosen, []) : undefined;
    return decide(chosen, list);
  }

  info(model: string, dir: string): SaeCheckpointInfo | undefined {
    return this.peek(model)?.find((c) => c.dir === dir);
  }

  displayName(model: string, dir: string): string {
    return saeDisplayName(dir, model, this.env());
  }

  dispose(): void {
    this.changed.dispose();
  }
}

function decide(chosen: string | undefined, checkpoints: SaeCheckpointInfo[]): EffectiveSae {
  if (chosen === NO_SAE) return { why: 'none-chosen', checkpoints };
  if (chosen && existsSync(path.join(chosen, checkpointFiles.cfg))) return { dir: chosen, why: 'chosen', checkpoints };
  const usable = checkpoints.filter((c) => !c.problem);
  if (usable.length === 1) return { dir: usable[0]!.dir, why: 'only', checkpoints };
  return { why: usable.length ? 'several' : 'none-found', checkpoints };
}
