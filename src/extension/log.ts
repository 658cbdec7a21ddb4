// The "FaCT" output channel: every job and every error a user might need to read later. Activation hands it the
// VS Code channel (useLogChannel); until then — and in plain-Node unit tests of host logic — lines go to the
// console. No `vscode` import, so that what logs can be tested outside the editor.

/** The part of vscode.LogOutputChannel FaCT uses. */
export interface FactLog {
  info(line: string): void;
  warn(line: string): void;
  error(line: string): void;
  appendLine(line: string): void;
  show(preserveFocus?: boolean): void;
}

const consoleLog: FactLog = {
  info: (line) => console.log(line),
  warn: (line) => console.warn(line),
  error: (line) => console.error(line),
  appendLine: (line) => console.log(line),
  show: () => {},
};

let channel: FactLog = consoleLog;

export function log(): FactLog {
  return channel;
}

/** Called once at activation with the editor's output channel. */
export function useLogChannel(c: FactLog): void {
  channel = c;
}
