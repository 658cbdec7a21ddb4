// A minimal event emitter with VS Code's shape (`event(listener) → { dispose }`), for modules that must not import
// `vscode` so that their logic can be exercised outside the editor.
export type Listener<T> = (value: T) => void;
export interface Disposable {
  dispose(): void;
}
export type Event<T> = (listener: Listener<T>) => Disposable;

export class Emitter<T> {
  private readonly listeners = new Set<Listener<T>>();

  readonly event: Event<T> = (listener) => {
    this.listeners.add(listener);
    return { dispose: () => void this.listeners.delete(listener) };
  };

  fire(value: T): void {
    for (const l of [...this.listeners]) {
      try {
        l(value);
      } catch (e) {
        console.error('FaCT: an event listener threw', e);
      }
    }
  }

  dispose(): void {
    this.listeners.clear();
  }
}
