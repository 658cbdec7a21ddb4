// When a panel's page never says `ready`, the panel is opened again in a new webview (src/extension/panels/pageLoadWatch.ts).
// A fake clock: time only moves when the test says so.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { PageLoadWatch } from '../../../src/extension/panels/pageLoadWatch';

class FakeClock {
  now = 0;
  private timers = new Map<number, { at: number; fn: () => void }>();
  private next = 1;
  set = (fn: () => void, ms: number): unknown => {
    const id = this.next++;
    this.timers.set(id, { at: this.now + ms, fn });
    return id;
  };
  clear = (h: unknown): void => {
    this.timers.delete(h as number);
  };
  /** Moves time forward by `ms`, running what falls due in order. */
  advance(ms: number): void {
    const end = this.now + ms;
    for (;;) {
      const due = [...this.timers.entries()].filter(([, t]) => t.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.timers.delete(due[0]);
      this.now = due[1].at;
      due[1].fn();
    }
    this.now = end;
  }
  get pending(): number {
    return this.timers.size;
  }
}

function setUp(grace = [15_000, 30_000]) {
  const clock = new FakeClock();
  const events: string[] = [];
  let blank = true; // every new webview stays blank unless the test lets it load
  const watch: PageLoadWatch = new PageLoadWatch(
    {
      setTimer: clock.set,
      clearTimer: clock.clear,
      reopen: (attempt) => {
        events.push(`reopen ${attempt} at ${clock.now}`);
        watch.loading(); // the new webview's page starts loading
        if (!blank) watch.ready();
      },
      giveUp: (attempts) => events.push(`give up after ${attempts} at ${clock.now}`),
    },
    grace,
  );
  return { clock, events, watch, letLoad: () => (blank = false) };
}

describe('the page-load watch of a panel', () => {
  it('a page that says ready in time is left alone, however long the panel then stays open', () => {
    const { clock, events, watch } = setUp();
    watch.loading();
    clock.advance(14_999);
    watch.ready();
    clock.advance(10 * 60_000);
    assert.deepEqual(events, []);
    assert.equal(clock.pending, 0);
  });

  it('a page that never says ready is opened again after the grace, then again after the longer one, then the user is told', () => {
    const { clock, events, watch } = setUp();
    watch.loading();
    clock.advance(60_000 + 30_000);
    assert.deepEqual(events, ['reopen 1 at 15000', 'reopen 2 at 45000', 'give up after 2 at 75000']);
    assert.equal(clock.pending, 0, 'nothing is scheduled after giving up');
  });

  it('a reopened webview that loads ends the watch, and a later reload starts from the first grace again', () => {
    const { clock, events, watch, letLoad } = setUp();
    watch.loading();
    letLoad();
    clock.advance(15_000);
    assert.deepEqual(events, ['reopen 1 at 15000']);
    assert.equal(clock.pending, 0);
    // The panel is hidden and shown again later: its new page gets the first grace, not the last.
    watch.loading();
    clock.advance(14_999);
    assert.deepEqual(events, ['reopen 1 at 15000']);
    watch.ready();
  });

  it('a hidden panel is not counted against: its page only loads once it is shown again', () => {
    const { clock, events, watch } = setUp();
    watch.loading();
    clock.advance(10_000);
    watch.idle(); // hidden before the page loaded
    clock.advance(60_000);
    assert.deepEqual(events, []);
    watch.loading(); // shown again: a new page, a full grace
    clock.advance(14_999);
    assert.deepEqual(events, []);
    clock.advance(1);
    assert.deepEqual(events, ['reopen 1 at 85000']);
  });
});
