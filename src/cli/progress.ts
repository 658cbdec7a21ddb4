// Progress of a long CLI job on stderr. On a terminal it redraws one line; in a log (not a terminal) it prints at
// most one line per `intervalMs` (the first report at once), plain text without ANSI codes. NO_COLOR (or
// TERM=dumb) keeps the terminal's redraw free of ANSI codes too (carriage return and padding only).
// The clock is injected so that tests need no waiting.

export interface ProgressTarget {
  /** A terminal: raw writes (no newline added) and its width. Absent: stderr is a file or a pipe. */
  terminal?: { write: (s: string) => void; columns: number };
  /** Writes one whole line (the newline is added). */
  line: (s: string) => void;
  /** NO_COLOR, TERM=dumb: no escape codes at all. */
  plain: boolean;
  now: () => number;
  intervalMs?: number;
}

export interface ProgressReporter {
  report: (message: string, fraction?: number) => void;
  /** Clears a terminal's progress line (before the result is printed); idempotent. */
  end: () => void;
}

export const LOG_INTERVAL_MS = 10_000;

export function progressText(message: string, fraction?: number): string {
  if (fraction === undefined || !Number.isFinite(fraction)) return message;
  const pct = Math.max(0, Math.min(100, Math.floor(fraction * 100)));
  return `[${String(pct).padStart(3)}%] ${message}`;
}

export function createProgressReporter(t: ProgressTarget): ProgressReporter {
  const interval = t.intervalMs ?? LOG_INTERVAL_MS;
  let lastLine = -Infinity;
  let drawn = 0;
  const term = t.terminal;
  const clear = (): void => {
    if (!term || drawn === 0) return;
    term.write(t.plain ? `\r${' '.repeat(drawn)}\r` : '\r\x1b[K');
    drawn = 0;
  };
  return {
    report(message, fraction) {
      const text = progressText(message.replace(/\s+/g, ' ').trim(), fraction);
      if (term) {
        const width = Math.max(20, term.columns - 1);
        const shown = text.length > width ? `${text.slice(0, width - 1)}…` : text;
        const pad = t.plain ? ' '.repeat(Math.max(0, drawn - shown.length)) : '';
        term.write(t.plain ? `\r${shown}${pad}` : `\r${shown}\x1b[K`);
        drawn = shown.length;
        return;
      }
      const now = t.now();
      if (now - lastLine < interval) return;
      lastLine = now;
      t.line(text);
    },
    end: clear,
  };
}
