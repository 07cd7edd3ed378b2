/**
 * Stacks that name the TypeScript sources, paid for only when a stack is read.
 *
 * The functions ran with `NODE_OPTIONS=--enable-source-maps`, which makes Node read and decode a
 * bundle's whole source map while it loads the bundle: at every cold start, whether or not a stack
 * is ever formatted (`npm run bench:cold-start`, 21 runs, 2026-12-05: the consumer's init 1.19× a
 * bare handler's without, 1.23× with; `bench/README.md`). Stacks are read only when an unexpected
 * error is logged (`consumer/failure-log.ts`) or a runtime dies, so this module maps them then:
 * V8 calls `Error.prepareStackTrace` the first time an error's `stack` is read, and the hook below
 * maps each frame of a file that has a `<file>.map` beside it (the bundle's, from esbuild)
 * through `node:module`'s `SourceMap`, read and decoded once per file, on first use.
 *
 * A frame reads as Node's own `--enable-source-maps` writes it: the source's path (resolved
 * against the map's directory), line and column, e.g.
 * `at readRowFacts (/var/lambda/shared/consumer/index.ts:432:40)`. Frames without a map (Node's
 * own, the AWS SDK of the runtime) are left as V8 writes them.
 */
import { existsSync, readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** Each file's decoded map (`null`: it has none, or it could not be read). */
const maps = new Map<string, { map: SourceMap; url: URL } | null>();

function mapOf(fileName: string): { map: SourceMap; url: URL } | null {
  const known = maps.get(fileName);
  if (known !== undefined) return known;
  let found: { map: SourceMap; url: URL } | null = null;
  try {
    const file = fileName.startsWith('file://') ? fileURLToPath(fileName) : fileName;
    const mapFile = `${file}.map`;
    if (/\.[cm]?js$/.test(file) && existsSync(mapFile))
      found = {
        map: new SourceMap(JSON.parse(readFileSync(mapFile, 'utf8'))),
        url: pathToFileURL(mapFile),
      };
  } catch {
    // An unreadable or malformed map: frames of this file stay as V8 writes them.
    found = null;
  }
  maps.set(fileName, found);
  return found;
}

/** The frame `site` as V8 writes it, with its position mapped to the source when there is a map. */
function mappedFrame(site: NodeJS.CallSite): string {
  const text = site.toString();
  const fileName = site.getFileName();
  const line = site.getLineNumber();
  const column = site.getColumnNumber();
  if (!fileName || line === null || column === null) return text;
  const found = mapOf(fileName);
  if (!found) return text;
  const entry = found.map.findEntry(line - 1, column - 1) as {
    originalSource?: string;
    originalLine?: number;
    originalColumn?: number;
  };
  if (entry.originalSource === undefined || entry.originalLine === undefined) return text;
  let source = entry.originalSource;
  try {
    source = fileURLToPath(new URL(entry.originalSource, found.url));
  } catch {
    // A source that is not a path (e.g. `webpack://…`): kept as the map names it.
  }
  const generated = `${fileName}:${line}:${column}`;
  const original = `${source}:${entry.originalLine + 1}:${(entry.originalColumn ?? 0) + 1}`;
  return text.includes(generated) ? text.replace(generated, original) : text;
}

/** The frames of `sites` as V8 writes them, each mapped when its file has a map. */
function mappedStack(error: Error, sites: NodeJS.CallSite[]): string {
  let header: string;
  try {
    header = Error.prototype.toString.call(error);
  } catch {
    header = '<error>';
  }
  return sites.length === 0 ? header : `${header}\n    at ${sites.map(mappedFrame).join('\n    at ')}`;
}

/** Whether a frame's file has a map (read and cached on the first call for that file). */
const hasMap = (site: NodeJS.CallSite) => {
  const fileName = site.getFileName();
  return fileName !== undefined && fileName !== null && mapOf(fileName) !== null;
};

/** The hook installed by {@link mapStacksWhenRead} in this isolate, if any. */
let installed: ((error: Error, sites: NodeJS.CallSite[]) => unknown) | undefined;

/**
 * Installs an `Error.prepareStackTrace` that maps the frames of files with a map, once per
 * isolate; a stack without such a frame is left to the hook that was there before (Node's own, or
 * a test runner's, which maps its own transformed files). Not when Node maps stacks itself
 * (`--enable-source-maps` or `process.setSourceMapsEnabled(true)`).
 */
export function mapStacksWhenRead(): void {
  if ((process as { sourceMapsEnabled?: boolean }).sourceMapsEnabled === true) return;
  if (installed !== undefined && Error.prepareStackTrace === installed) return;
  const previous = Error.prepareStackTrace;
  installed = (error, sites) =>
    sites.some(hasMap) || previous === undefined ? mappedStack(error, sites) : previous(error, sites);
  Error.prepareStackTrace = installed;
}
