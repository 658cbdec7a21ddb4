// The HTML shell of every FaCT webview: a strict Content-Security-Policy (no remote anything, scripts only with
// this page's nonce), the panel's bundled script, and nothing else. Content arrives by message.
import { randomBytes } from 'node:crypto';
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
  const script = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'webview', `${entry}.js`));
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
<script type="module" nonce="${nonce}" src="${script}"></script>
</body>
</html>`;
}
