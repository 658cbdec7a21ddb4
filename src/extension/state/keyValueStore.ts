// Where choices are remembered: VS Code's workspaceState in the editor, a Map in a test (no `vscode` import).

/** A key/value store: the part of vscode.Memento that FaCT uses (workspaceState), or a Map in a test. */
export interface KeyValueStore {
  get<T>(key: string): T | undefined;
  update(key: string, value: unknown): PromiseLike<void>;
}

export function memoryStore(): KeyValueStore {
  const m = new Map<string, unknown>();
  return { get: <T>(k: string) => m.get(k) as T | undefined, update: async (k, v) => void (v === undefined ? m.delete(k) : m.set(k, v)) };
}
