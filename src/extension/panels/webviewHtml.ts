// The HTML shell of every FaCT webview: a strict Content-Security-Policy (no remote anything, scripts only with
// this page's nonce), the panel's bundled script, and nothing else. Content arrives by message.
// The script is inlined (under the same nonce) rather than loaded by URL: a new page otherwise fetches it through the
// webview's service worker, the workbench and, in a remote or web editor, the server, before it can say `ready` —
// on the first panel of a window that wait is part of what the person sees before the explanation.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import * as vscode from 'vscode';
import { escapeHtml } from '../../../common/format';

export function webviewOptions(extensionUri: vscode.Uri): vscode.WebviewPanelOptions & vscode.WebviewOptions {
  // Panels load only their own bundle and media by URI; images, traces and strips arrive as data: URLs in messages,
  // so no workspace folder needs to be readable from a webview.
  const roots = [vscode.Uri.joinPath(extensionUri, 'dist', 'webview'), vscode.Uri.joinPath(extensionUri, 'media')];
  return { enableScripts: true, localResourceRoots: roots, retainContextWhenHidden: false };
}

export function webviewHtml(webview: vscode.Webview, extensionUri: vscode.Uri, entry: string, title: string): string {
  const nonce = randomBytes(16).toString('base64');
  const bundle = vscode.Uri.joinPath(extensionUri, 'dist', 'webview', `${entry}.js`);
  const inline = bundleText(bundle.fsPath, webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'webview', `${entry}.js.map`)));
  const csp = [
    "default-src 'none'",
    `img-src ${webview.cspSource} data: blob:`,
    `style-src ${webview.cspSource} 'nonce-${nonce}'`,
    `font-src ${webview.cspSource}`,
    `script-src 'nonce-${nonce}'`,
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>${escapeHtml(title)}</title>
<style nonce="${nonce}">body { padding: 0 20px 20px; }</style>
</head>
<body>
<fact-${entry}-panel></fact-${entry}-panel>
${
  inline !== undefined
    ? `<script type="module" nonce="${nonce}">${inline}</script>`
    : `<script type="module" nonce="${nonce}" src="${webview.asWebviewUri(bundle)}"></script>`
}
</body>
</html>`;
}

/** Bundles read so far, by file, with the modification time they were read at (a rebuilt bundle is read again). */
const bundles = new Map<string, { mtimeMs: number; text: string | undefined }>();

/** The bundle's text for an inline <script>, its source map (when built with one) named by URL; undefined when it
 *  cannot be read or holds what would change how the HTML parser reads a script element (`<script`, `</script`,
 *  `<!--`): then the page loads it by URL. */
function bundleText(file: string, map: vscode.Uri): string | undefined {
  try {
    const mtimeMs = statSync(file).mtimeMs;
    let hit = bundles.get(file);
    if (!hit || hit.mtimeMs !== mtimeMs) {
      const code = readFileSync(file, 'utf8').replace(/\/\/# sourceMappingURL=\S+\s*$/, '');
      const text = /<\/?script|<!--/i.test(code)
        ? undefined
        : existsSync(`${file}.map`)
          ? `${code}\n//# sourceMappingURL=${map.toString()}\n`
          : code;
      hit = { mtimeMs, text };
      bundles.set(file, hit);
    }
    return hit.text;
  } catch {
    return undefined;
  }
}
