// Watches a webview page that should say `ready`, and asks for a new webview when it never does.
//
// Why: a VS Code webview's page loads only once its service worker controls it. When two webviews start at about
// the same moment (VS Code's image preview and a FaCT panel opened beside it), each registers the worker under its
// own script URL; the page whose registration lost the race waits for a controller change that never comes, and stays
// blank forever (microsoft/vscode#125993 and its kin; measured here: about one first Explain panel in three under
// load in code-server). "Developer: Reload Webviews" re-sends the page to the same stuck frame and does not always
// help; a new webview registers again and loads. So: after `graceMs[i]` without `ready` while the panel is visible,
// the owner opens the panel again (attempt i + 1), and after the last attempt it tells the user how to recover.
//
// Plain TypeScript (no vscode) so its timing rules are unit-tested with a fake clock.

export interface PageLoadWatchDeps {
  /** setTimeout/clearTimeout (a fake clock in tests). */
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
  /** The page never said ready within the grace: open the panel again (a new webview); `attempt` counts from 1. */
  reopen(attempt: number): void;
  /** Every attempt failed: tell the user (the panel stays open, blank). */
  giveUp(attempts: number): void;
}

/** Grace before each new webview: generous, because a loaded 2-core machine can take seconds to start a page. */
export const PAGE_LOAD_GRACE_MS: readonly number[] = [15_000, 30_000];

export class PageLoadWatch {
  private timer: unknown;
  /** Webviews opened again for the current load. */
  private attempts = 0;

  constructor(
    private readonly deps: PageLoadWatchDeps,
    private readonly graceMs: readonly number[] = PAGE_LOAD_GRACE_MS,
  ) {}

  /** A page started loading in a visible webview (HTML set, or a hidden panel shown again): start counting. */
  loading(): void {
    this.stopTimer();
    const grace = this.graceMs[Math.min(this.attempts, this.graceMs.length - 1)] ?? 0;
    this.timer = this.deps.setTimer(() => this.expired(), grace);
  }

  /** The page said `ready`: it loaded; the next load starts afresh. */
  ready(): void {
    this.stopTimer();
    this.attempts = 0;
  }

  /** The panel was hidden (its page is gone until shown again) or disposed: nothing to wait for. */
  idle(): void {
    this.stopTimer();
  }

  private expired(): void {
    this.timer = undefined;
    if (this.attempts >= this.graceMs.length) {
      this.deps.giveUp(this.attempts);
      return;
    }
    this.attempts++;
    // reopen() sets up the new webview, which reports back through loading()/ready().
    this.deps.reopen(this.attempts);
  }

  private stopTimer(): void {
    if (this.timer !== undefined) this.deps.clearTimer(this.timer);
    this.timer = undefined;
  }
}
