// Part of `npm run build`: tsc compiles the TypeScript; local mode's worker scripts (*.mjs) are
// plain JavaScript that tsc does not copy, so they are copied next to the compiled modules that
// start them (`new Worker(path.join(__dirname, 'worker.mjs'))`).
const { cpSync, readdirSync, statSync } = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
function copyMjs(dir) {
  for (const name of readdirSync(path.join(root, dir))) {
    const rel = path.join(dir, name);
    if (statSync(path.join(root, rel)).isDirectory()) copyMjs(rel);
    else if (name.endsWith('.mjs')) cpSync(path.join(root, rel), path.join(root, 'dist', rel));
  }
}
copyMjs('local');
