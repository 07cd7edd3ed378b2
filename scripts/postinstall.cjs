/**
 * `postinstall` of the package. In this repository it runs patch-package (patches/*.patch). In an
 * app that installed the package, patch-package is not there (a dev dependency) and the patched
 * packages sit in the app's node_modules, not under this package: the same patch files are
 * applied to the copy this package resolves, hunk by hunk (each hunk's old text must be found
 * once; a hunk already applied is skipped), so the app's local mode runs the same emulator as
 * this repository's tests. Exit code 1 with one line when a patch does not apply.
 */
const { existsSync, readdirSync, readFileSync, writeFileSync } = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const root = path.join(__dirname, '..');
const patchDir = path.join(root, 'patches');

/** The hunks of a unified diff, per file: `{ file, hunks: [{ before, after }] }`. */
function parsePatch(text) {
  const files = [];
  let current;
  let hunk;
  for (const line of text.split('\n')) {
    if (line.startsWith('+++ b/')) {
      current = { file: line.slice('+++ b/'.length), hunks: [] };
      files.push(current);
    } else if (line.startsWith('@@')) {
      hunk = { before: [], after: [] };
      current.hunks.push(hunk);
    } else if (hunk && (line.startsWith(' ') || line.startsWith('-') || line.startsWith('+'))) {
      if (line[0] !== '+') hunk.before.push(line.slice(1));
      if (line[0] !== '-') hunk.after.push(line.slice(1));
    } else if (line.startsWith('diff --git')) hunk = undefined;
  }
  return files;
}

/**
 * Applies `patchFile` to the package it names, resolved from this package's folder; returns the
 * files it changed (none when the patch was in place already).
 */
function applyPatch(patchFile) {
  const text = readFileSync(patchFile, 'utf8');
  const changed = [];
  for (const { file, hunks } of parsePatch(text)) {
    // node_modules/<name>/<path> (scoped names have two parts)
    const parts = file.split('/').slice(1);
    const name = parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
    const inner = parts.slice(name.split('/').length).join('/');
    // Node's own lookup order from this package's folder (its package.json may not be exported).
    const pkgDir = (require.resolve.paths(name) ?? [])
      .concat(path.join(root, 'node_modules'))
      .map((dir) => path.join(dir, name))
      .find((dir) => existsSync(path.join(dir, 'package.json')));
    if (!pkgDir) throw new Error(`${path.basename(patchFile)}: ${name} is not installed`);
    const target = path.join(pkgDir, inner);
    const before = readFileSync(target, 'utf8');
    const after = applyHunks(before, hunks, `${path.basename(patchFile)} on ${target}`);
    if (after !== before) {
      writeFileSync(target, after);
      changed.push(target);
    }
  }
  return changed;
}

/** Applies every patch of `patches/` (what an app's local mode checks at startup); returns the files changed. */
function applyAllPatches() {
  if (!existsSync(patchDir)) return [];
  return readdirSync(patchDir)
    .filter((n) => n.endsWith('.patch'))
    .sort()
    .flatMap((f) => applyPatch(path.join(patchDir, f)));
}

/** `source` with each hunk applied (already applied ones skipped); throws naming `what` otherwise. */
function applyHunks(source, hunks, what) {
  for (const { before, after } of hunks) {
    const old = before.join('\n');
    const replacement = after.join('\n');
    if (source.includes(replacement)) continue;
    const at = source.indexOf(old);
    if (at < 0 || source.indexOf(old, at + 1) >= 0) throw new Error(`${what}: a hunk does not apply`);
    source = source.slice(0, at) + replacement + source.slice(at + old.length);
  }
  return source;
}

function main() {
  if (!existsSync(patchDir)) return;
  const inRepository =
    existsSync(path.join(root, '.git')) || existsSync(path.join(root, 'node_modules', 'patch-package'));
  if (inRepository) {
    const cli = path.join(
      path.dirname(require.resolve('patch-package/package.json', { paths: [root] })),
      'index.js',
    );
    const r = spawnSync(process.execPath, [cli], {
      cwd: root,
      stdio: 'inherit',
    });
    process.exitCode = r.status ?? 1;
    return;
  }
  applyAllPatches();
}

if (require.main === module) {
  try {
    main();
  } catch (error) {
    process.stderr.write(`event-pipeline postinstall: ${error.message}\n`);
    process.exitCode = 1;
  }
}

module.exports = { parsePatch, applyPatch, applyHunks, applyAllPatches };
