// Locations shared by the editor-test harness. Everything the harness installs or writes at run time lives under
// <root>/.harness/ (git-ignored); reports and screenshots go to <root>/.test-output/ (git-ignored).
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file is test/editor/harness/paths.mjs). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/**
 * The extension under test. Normally the repository root itself; FACT_EXTENSION_ROOT points the harness at another
 * folder that follows the same contract (package.json + dist/extension.js + dist/test/editor/index.js), which is how
 * the harness itself was developed before the real extension existed.
 */
export const EXTENSION_ROOT = path.resolve(process.env.FACT_EXTENSION_ROOT || REPO_ROOT);

export const HARNESS_DIR = path.join(REPO_ROOT, '.harness');
export const OUTPUT_DIR = path.join(REPO_ROOT, '.test-output');
export const SCREENSHOT_DIR = path.join(OUTPUT_DIR, 'screenshots');

export const CODE_SERVER_VERSION = '4.100.3'; // VS Code 1.100.3; the newest code-server whose engines accept Node 20
export const CODE_SERVER_DIR = path.join(HARNESS_DIR, 'code-server');
export const CODE_SERVER_BIN = path.join(CODE_SERVER_DIR, 'node_modules', '.bin', 'code-server');

export const CHROMIUM = process.env.FACT_CHROMIUM || '/usr/bin/chromium';
export const WORKSPACE_DIR = path.join(HARNESS_DIR, 'workspace');
/**
 * The editor's cache of what FaCT derives from SAE checkpoints (setting fact.cacheFolder): kept across runs (unlike
 * the user-data dir) so the default SAE's atlas, built once by test/run-all.mjs, is not rebuilt at every start.
 */
export const FACT_CACHE_DIR = path.join(HARNESS_DIR, 'fact-cache');
