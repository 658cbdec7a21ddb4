// Which execution providers actually ran during one core call (and why any fell back), collected without plumbing:
// a call runs inside `trackProviders`, and every session run records itself in the call's AsyncLocalStorage scope
// (and in each enclosing scope, so a CLI run that makes several calls knows them all).
import { AsyncLocalStorage } from 'node:async_hooks';

/** What a result says about where it ran. `executionProvider` is e.g. "webgpu", "cpu" or "webgpu+cpu". */
export interface RanOn {
  executionProvider?: string;
  /** The WebGPU adapter, e.g. "llvmpipe (software)", when WebGPU ran. */
  adapter?: string;
  /** Why a requested provider was not (or not everywhere) used. */
  fallbackReason?: string;
}

export class ProviderUsage {
  private readonly providers = new Set<string>();
  private readonly reasons = new Set<string>();
  private adapter: string | undefined;

  constructor(private readonly parent?: ProviderUsage) {}

  record(provider: string, fallbackReason?: string, adapter?: string): void {
    this.providers.add(provider);
    if (fallbackReason) this.reasons.add(fallbackReason);
    if (adapter) this.adapter = adapter;
    this.parent?.record(provider, fallbackReason, adapter);
  }

  /** Nothing when no session ran (e.g. `inspect`). GPU providers are named before the CPU. */
  summary(): RanOn {
    if (!this.providers.size) return {};
    const order = ['cuda', 'webgpu', 'cpu'];
    const executionProvider = [...this.providers].sort((a, b) => order.indexOf(a) - order.indexOf(b)).join('+');
    return {
      executionProvider,
      ...(this.adapter && this.providers.has('webgpu') ? { adapter: this.adapter } : {}),
      ...(this.reasons.size ? { fallbackReason: [...this.reasons].join(' ') } : {}),
    };
  }
}

const scope = new AsyncLocalStorage<ProviderUsage>();

/** Runs `fn` in a new scope and returns its result with the providers that ran during it. */
export async function trackProviders<T>(fn: (usage: ProviderUsage) => Promise<T>): Promise<{ value: T; ranOn: RanOn }> {
  const usage = new ProviderUsage(scope.getStore());
  const value = await scope.run(usage, () => fn(usage));
  return { value, ranOn: usage.summary() };
}

/** Records a session run in the current scope (no-op outside one). */
export function recordProviderUse(provider: string, fallbackReason?: string, adapter?: string): void {
  scope.getStore()?.record(provider, fallbackReason, adapter);
}

/** Where a result ran, for the panels: "cpu", "webgpu on llvmpipe (software)", "cpu (webgpu is not available: …)". */
export function ranOnText(r: RanOn | undefined): string | undefined {
  if (!r?.executionProvider) return undefined;
  return `${r.executionProvider}${r.adapter ? ` on ${r.adapter}` : ''}${r.fallbackReason ? ` (${r.fallbackReason})` : ''}`;
}

/** One line for text output: "Ran on webgpu (llvmpipe (software))." plus the fallback reason. */
export function ranOnLine(r: RanOn): string | undefined {
  if (!r.executionProvider) return undefined;
  return `Ran on ${r.executionProvider}${r.adapter ? ` (${r.adapter})` : ''}.${r.fallbackReason ? ` ${r.fallbackReason}` : ''}`;
}
