// The "FaCT" output channel: every job and every error a user might need to read later.
import * as vscode from 'vscode';

let channel: vscode.LogOutputChannel | undefined;

export function log(): vscode.LogOutputChannel {
  channel ??= vscode.window.createOutputChannel('FaCT', { log: true });
  return channel;
}
