// Sessions are expensive to create (graph optimisation) and cheap to reuse: keep the few most recent ones.
import type { OpenedSession } from './session';

export class SessionCache {
  private readonly entries = new Map<string, Promise<OpenedSession>>();

  constructor(private readonly capacity = 4) {}

  /** The session for `key`, created by `create` on a miss; least recently used sessions are released. */
  get(key: string, create: () => Promise<OpenedSession>): Promise<OpenedSession> {
    const hit = this.entries.get(key);
    if (hit) {
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit;
    }
    const made = create();
    this.entries.set(key, made);
    made.catch(() => this.entries.delete(key));
    while (this.entries.size > this.capacity) {
      const [oldKey, old] = this.entries.entries().next().value as [string, Promise<OpenedSession>];
      this.entries.delete(oldKey);
      old.then((s) => s.session.release()).catch(() => undefined);
    }
    return made;
  }

  get size(): number {
    return this.entries.size;
  }

  async clear(): Promise<void> {
    const all = [...this.entries.values()];
    this.entries.clear();
    await Promise.all(all.map((p) => p.then((s) => s.session.release()).catch(() => undefined)));
  }
}
