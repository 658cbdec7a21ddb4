// Finding what a hover is over, in a line of Python or TypeScript: a dotted path (`self.layer4`, `features.norm5`,
// `encoder_10`) that names a model layer, or a string literal that is an image's path. No `vscode` import.
import { existsSync } from 'node:fs';
import * as path from 'node:path';

export interface Span {
  text: string;
  start: number;
  end: number;
}

const PATH = /[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*/g;

/** The dotted identifier path under `ch` (e.g. `self.layer3` anywhere over `self.layer3`). */
export function pathAt(line: string, ch: number): Span | undefined {
  PATH.lastIndex = 0;
  for (let m = PATH.exec(line); m; m = PATH.exec(line)) {
    const start = m.index,
      end = m.index + m[0].length;
    if (ch >= start && ch < end) return { text: m[0], start, end };
    if (start > ch) break;
  }
  return undefined;
}

/** The string literal (its contents) under `ch`, for '…', "…" and `…` on one line. */
export function stringLiteralAt(line: string, ch: number): Span | undefined {
  let open: string | undefined;
  let start = 0;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (open) {
      if (c === '\\') {
        i++;
        continue;
      }
      if (c === open) {
        if (ch > start && ch <= i) return { text: line.slice(start + 1, i), start: start + 1, end: i };
        open = undefined;
      }
    } else if (c === '"' || c === "'" || c === '`') {
      open = c;
      start = i;
    } else if ((c === '#' && (i === 0 || /\s/.test(line[i - 1]!))) || (c === '/' && line[i + 1] === '/')) {
      break; // a comment (Python '#', TypeScript '//'): the rest of the line is not code
    }
  }
  return undefined;
}

export interface LayerName {
  label: string;
  aliases: string[];
}

/**
 * The layer a dotted path names: the one whose label (or an alias) ends the path (`self.layer4` → `layer4`), or
 * whose label ends with the whole path (`encoder_10` → `0.transformer.encoder_10`), the most segments matched first.
 */
export function matchLayer(p: string, layers: LayerName[]): string | undefined {
  const ps = p.split('.');
  let best: { label: string; score: number } | undefined;
  for (const l of layers) {
    for (const name of [l.label, ...l.aliases]) {
      const ns = name.split('.');
      let n = 0;
      while (n < ps.length && n < ns.length && ps[ps.length - 1 - n] === ns[ns.length - 1 - n]) n++;
      if (n === 0 || (n < ns.length && n < ps.length)) continue;
      const score = n + (n === ns.length ? 0.5 : 0);
      if (!best || score > best.score) best = { label: l.label, score };
    }
  }
  return best?.label;
}

const IMAGE = /\.(png|jpe?g)$/i;

/** The image a string literal names, relative to the file, then to each workspace folder, or absolute. */
export function resolveImagePath(text: string, documentDir: string | undefined, roots: string[]): string | undefined {
  const t = text.trim();
  if (!IMAGE.test(t) || t.length > 1024 || /^[a-z]+:\/\//i.test(t)) return undefined;
  const candidates = path.isAbsolute(t)
    ? [t]
    : [...(documentDir ? [path.resolve(documentDir, t)] : []), ...roots.map((r) => path.resolve(r, t))];
  return candidates.find((c) => existsSync(c));
}

/** Text from files we did not write (card.json class and model names, file names, messages) as literal markdown:
 *  no links (a `[x](command:…)` could run a command), images, HTML, theme icons or table breaks. */
export function escapeMarkdown(text: string): string {
  return text
    .replace(/[\r\n]+/g, ' ')
    .replace(/[\\`*_{}[\]()#+\-.!|<>$~&]/g, (c) => (c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '&' ? '&amp;' : `\\${c}`));
}

/** A name shown as inline code: markdown is not interpreted inside, so only backticks and line breaks need care. */
export function codeSpan(text: string): string {
  return `\`${text.replace(/[\r\n]+/g, ' ').replace(/`/g, 'ʼ')}\``;
}
