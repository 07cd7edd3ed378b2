/**
 * Cold start of each function's bundle, measured: synthesizes a stage through the project's CDK
 * CLI (real esbuild bundles, into `cdk.out.bench-cold/`), then for each function spawns fresh
 * `node` processes that `import()` the bundle's handler module with the function's environment
 * (intrinsics replaced by dummy values), against a bare handler module that only creates the same
 * SDK clients (the DynamoDB document client the way the handlers make it), alternating the two in
 * one run. Also prints each bundle's size with a breakdown of its largest inputs (an esbuild
 * metafile, from rebuilding the entry with NodejsFunction's options and checking that the rebuild
 * is byte-identical to the asset), and times an error path (stack trace of an error thrown inside
 * the bundle) with and without `--enable-source-maps`. Prints figures; asserts nothing.
 *
 *   npm run bench:cold-start [-- --stage dev --runs 7 --errors 2000 --root ../other-checkout]
 *
 * `--root` measures another checkout of the project (a worktree of an older commit, for a
 * before/after comparison; bench/README.md): its own synth, bundles and entries, with this file's
 * code. Entries are each `lambda/<function>/index.ts` (before lanes, every function had one; now
 * only the DLQ sweeper) and the entries the synth generated under
 * `node_modules/.cache/event-pipeline/` (lanes' consumers and the producer, lib/bundling/entries.ts).
 *
 * The bundles import `@aws-sdk/*` from the Lambda runtime; here the child resolves them from the
 * checkout's node_modules (the assembly directory is inside the checkout).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { build, type BuildOptions, type Metafile } from 'esbuild';
import { functionBundling } from './function-bundling';

const { values } = parseArgs({
  options: {
    stage: { type: 'string', default: 'dev' },
    runs: { type: 'string', default: '7' },
    errors: { type: 'string', default: '2000' },
    'skip-synth': { type: 'boolean', default: false },
    root: { type: 'string' },
  },
});
/** The checkout measured: this one, or `--root`. */
const ROOT = path.resolve(values.root ?? path.join(__dirname, '..'));
/** The cloud assembly of this bench, apart from the others. */
const OUTDIR = path.join(ROOT, 'cdk.out.bench-cold');
/** Where the construct writes generated entry points (lib/bundling/entries.ts `writeGenerated`). */
const GENERATED = path.join(ROOT, 'node_modules', '.cache', 'event-pipeline');
const STAGE = values.stage!;
const RUNS = Number(values.runs);
const ERRORS = Number(values.errors);

type Json = Record<string, unknown>;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;
/** A difference with its sign: `+1.5`, `-0.3`. */
const signed = (x: number, digits: number) => `${x >= 0 ? '+' : ''}${x.toFixed(digits)}`;

/** A template value with intrinsics replaced by dummy strings of the right shape. */
function dummy(value: unknown): string {
  if (typeof value === 'string' || typeof value === 'number') return String(value);
  const v = value as Json;
  if (v.Ref)
    return v.Ref === 'AWS::Region' ? 'us-east-1' : v.Ref === 'AWS::Partition' ? 'aws' : `dummy-${v.Ref}`;
  if (v['Fn::GetAtt']) {
    const [id, attr] = v['Fn::GetAtt'] as [string, string];
    if (attr === 'QueueUrl') return `https://sqs.us-east-1.amazonaws.com/123456789012/${id}`;
    if (attr === 'QueueName') return id;
    return `arn:aws:sqs:us-east-1:123456789012:${id}`;
  }
  if (v['Fn::Join']) {
    const [sep, parts] = v['Fn::Join'] as [string, unknown[]];
    return parts.map(dummy).join(sep);
  }
  return 'dummy';
}

/**
 * The NodejsFunction options of lib/constructs/pipeline-function.ts, with a metafile. The
 * conditions (`esbuildArgs` `--conditions`) came with lanes; a checkout from before them builds
 * the same bundle with them (no package it bundles exports `event-pipeline-source`, and `module`
 * is esbuild's default).
 */
async function rebuild(entry: string): Promise<{ code: Buffer; metafile: Metafile }> {
  const out = await build({ ...bundling(), entryPoints: [entry], write: false, metafile: true });
  const js = out.outputFiles.find((f) => f.path.endsWith('.mjs'))!;
  return { code: Buffer.from(js.contents), metafile: out.metafile };
}

/** NodejsFunction's esbuild options, for the checkout measured. */
function bundling(): BuildOptions {
  return functionBundling(ROOT, path.join(OUTDIR, 'rebuild', 'index.mjs'));
}

/**
 * The app's job modules a generated consumer entry imports (`import * as m0 from "<file>"`,
 * lib/bundling/entries.ts): the adopter's own code in the function, none of it the package's.
 */
function jobModulesOf(entry: string): string[] {
  const source = readFileSync(entry, 'utf8');
  return [...source.matchAll(/^import \* as m\d+ from ("[^"]+");$/gm)].map(
    (m) => JSON.parse(m[1]!) as string,
  );
}

/**
 * A bare handler that also loads the lane's job modules (their schemas, zod and whatever else the
 * app's jobs import), bundled as the function is: what the function would cost with none of the
 * package's runtime in it.
 */
async function bareWithJobs(sdk: readonly string[], jobs: readonly string[], outfile: string): Promise<void> {
  const contents =
    bareModule(sdk) +
    jobs.map((file, i) => `import * as j${i} from ${JSON.stringify(file)};\n`).join('') +
    `export const jobs = [${jobs.map((_, i) => `j${i}`).join(', ')}];\n`;
  await build({
    ...bundling(),
    stdin: { contents, resolveDir: ROOT, sourcefile: 'bare-with-jobs.ts', loader: 'ts' },
    outfile,
    write: true,
  });
}

/** Bytes in the output by package (`node_modules/<pkg>`), generated code, and the project's own code. */
function byPackage(metafile: Metafile): Map<string, number> {
  const sizes = new Map<string, number>();
  const output = Object.values(metafile.outputs).find((o) => o.entryPoint)!;
  for (const [file, input] of Object.entries(output.inputs)) {
    const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file);
    // The synth's generated entry and the producer's compiled validators are the app's code, not a package.
    const key = file.includes('node_modules/.cache/event-pipeline/')
      ? '(generated code)'
      : m
        ? m[1]!
        : '(project code)';
    sizes.set(key, (sizes.get(key) ?? 0) + input.bytesInOutput);
  }
  return new Map([...sizes].sort((a, b) => b[1] - a[1]));
}

/** SDK packages the bundle imports from the runtime. */
function externals(metafile: Metafile): { atInit: string[]; onUse: string[] } {
  const output = Object.values(metafile.outputs).find((o) => o.entryPoint)!;
  const sdk = output.imports.filter((i) => i.external && i.path.startsWith('@aws-sdk/'));
  const atInit = [...new Set(sdk.filter((i) => i.kind !== 'dynamic-import').map((i) => i.path))];
  // Imported on first use (`import()`, e.g. lambda/shared/s3.ts): not at cold start.
  const onUse = [...new Set(sdk.filter((i) => i.kind === 'dynamic-import').map((i) => i.path))].filter(
    (p) => !atInit.includes(p),
  );
  return { atInit, onUse };
}

/**
 * The handler entries of the checkout: every `lambda/<function>/index.ts`, and the generated
 * entries under {@link GENERATED} — with `since` (this run's synth start), only those that synth
 * wrote (the folder keeps every earlier synth's too).
 */
function handlerEntries(since: number | undefined): string[] {
  const indexIn = (dir: string) =>
    readdirSync(dir, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => path.join(dir, d.name, 'index.ts'))
      .filter((f) => statSync(f, { throwIfNoEntry: false })?.isFile());
  const generated = statSync(GENERATED, { throwIfNoEntry: false })?.isDirectory()
    ? indexIn(GENERATED).filter((f) => since === undefined || statSync(f).mtimeMs >= since)
    : [];
  return [...indexIn(path.join(ROOT, 'lambda')), ...generated];
}

/**
 * The bare handler: creates the clients of the SDK packages the bundle imports and nothing else.
 * The document client of `@aws-sdk/lib-dynamodb` wraps a DynamoDB client, as in the handlers
 * (`DynamoDBDocumentClient.from(new DynamoDBClient({}))`); its constructor alone fails. A package
 * that is not a client (`@aws-sdk/util-dynamodb`, the relay's) is imported only.
 */
function bareModule(sdk: readonly string[]): string {
  const doc = sdk.includes('@aws-sdk/lib-dynamodb');
  const lines = sdk
    .filter((p) => p !== '@aws-sdk/lib-dynamodb' && !(doc && p === '@aws-sdk/client-dynamodb'))
    .map((p, i) =>
      p.startsWith('@aws-sdk/client-')
        ? `import * as m${i} from '${p}';\nnew (Object.entries(m${i}).find(([k]) => /^[A-Za-z0-9]+Client$/.test(k) && k !== 'Client')[1])({});`
        : `import '${p}';`,
    );
  if (doc)
    lines.push(
      "import { DynamoDBClient } from '@aws-sdk/client-dynamodb';",
      "import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';",
      'DynamoDBDocumentClient.from(new DynamoDBClient({}));',
    );
  return `${lines.join('\n')}\nexport const handler = async () => ({});\n`;
}

/** The checkout's commit, to label the figures (`undefined` outside a git checkout). */
function commitOf(dir: string): string | undefined {
  const r = spawnSync('git', ['-C', dir, 'log', '-1', '--format=%h (%cs)'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/** The error line of a failed child's stderr (`ConfigError: …`), else its last lines. */
function childError(stderr: string): string {
  const lines = stderr.trim().split('\n');
  return lines.find((l) => /^\w*Error\b/.test(l.trim()))?.trim() ?? lines.slice(-3).join(' | ');
}

/** Runs `script` (an ES module) in a fresh node with `env`; returns its last stdout line as JSON. */
function child(script: string, env: Record<string, string>, nodeOptions: string): Json {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: OUTDIR,
    // Only PATH is inherited; the rest is the function's own environment. The SDK's warning about
    // Node 20 (this machine's version, not the functions' runtime) is silenced.
    env: { PATH: process.env.PATH ?? '', ...env, NODE_OPTIONS: `${nodeOptions} --no-warnings`.trim() },
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`child failed (${r.status}): ${childError(r.stderr)}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Json;
}

const importTimer = (file: string) => `
const t0 = performance.now();
const mod = await import(${JSON.stringify(file)});
const initMs = performance.now() - t0;
if (typeof mod.handler !== 'function') throw new Error('no handler export');
console.log(JSON.stringify({ initMs }));`;

const errorTimer = (file: string, n: number) => `
const mod = await import(${JSON.stringify(file)});
const ctx = { getRemainingTimeInMillis: () => 10000, functionName: 'bench', awsRequestId: 'r' };
let bytes = 0, lines = 0, failed = 0, top = '';
const once = async () => { try { await mod.handler({ Records: null }, ctx); } catch (e) { failed++; const s = String(e.stack); bytes += s.length; lines = s.split('\\n').length; top = s.split('\\n').slice(0, 2).join(' | '); } };
for (let i = 0; i < 50; i++) await once();
failed = 0; bytes = 0;
const t0 = performance.now();
for (let i = 0; i < ${n}; i++) await once();
const ms = performance.now() - t0;
console.log(JSON.stringify({ usPerError: (ms * 1000) / ${n}, failed, stackBytes: bytes / Math.max(1, failed), lines, top }));`;

async function main(): Promise<void> {
  let synthStart: number | undefined;
  if (!values['skip-synth']) {
    const t = Date.now();
    // mtimes have at least 1 ms resolution; a second of slack covers coarser file systems.
    synthStart = t - 1000;
    const r = spawnSync('npm', ['run', '-s', 'synth', '--', '-c', `stage=${STAGE}`, '-o', OUTDIR], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    if (r.status !== 0) throw new Error(`synth failed: ${(r.stderr || r.stdout).trim().split('\n').pop()}`);
    console.log(
      `synthesized stage ${STAGE} of ${ROOT} into ${path.relative(ROOT, OUTDIR)} in ${((Date.now() - t) / 1000).toFixed(1)} s`,
    );
  }
  const template = JSON.parse(
    readFileSync(path.join(OUTDIR, `EventPipeline-${STAGE}.template.json`), 'utf8'),
  ) as {
    Resources: Record<string, { Type: string; Properties: Json; Metadata?: Json }>;
  };

  // Rebuild every handler entry with a metafile; match each asset to its entry by content.
  const entries = handlerEntries(synthStart);
  const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
  const rebuilt = new Map<string, { entry: string; metafile: Metafile }>();
  let unbuildable = 0;
  for (const entry of entries) {
    try {
      const { code, metafile } = await rebuild(entry);
      rebuilt.set(sha(code), { entry: path.relative(ROOT, entry), metafile });
    } catch {
      // A generated entry of an earlier synth (another app, a test) whose job modules are gone.
      unbuildable++;
    }
  }

  const nodeVersion = process.version;
  const commit = commitOf(ROOT);
  console.log(
    `checkout ${ROOT}${commit ? ` at ${commit}` : ''}; ${entries.length - unbuildable} entries rebuilt` +
      (unbuildable ? ` (${unbuildable} stale generated ones no longer build: skipped)` : ''),
  );
  console.log(
    `node ${nodeVersion}, ${RUNS} fresh processes per module and setting (medians), ${ERRORS} errors per error-path run\n`,
  );
  const summary: Json[] = [];
  /** Measures one function of the template; `undefined` for a function that is not a bundle. */
  const measure = async (
    id: string,
    r: { Type: string; Properties: Json; Metadata?: Json },
  ): Promise<Json | undefined> => {
    if (r.Type !== 'AWS::Lambda::Function') return;
    const assetDir = r.Metadata?.['aws:asset:path'];
    if (typeof assetDir !== 'string') return;
    const bundle = path.join(OUTDIR, assetDir, 'index.mjs');
    let code: Buffer;
    try {
      code = readFileSync(bundle);
    } catch {
      return; // CDK's own providers are not NodejsFunction bundles
    }
    const match = rebuilt.get(sha(code));
    const vars = ((r.Properties.Environment as Json | undefined)?.Variables ?? {}) as Json;
    const env: Record<string, string> = {
      AWS_REGION: 'us-east-1',
      AWS_DEFAULT_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'AKIDBENCH',
      AWS_SECRET_ACCESS_KEY: 'bench',
      AWS_LAMBDA_FUNCTION_NAME: id,
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(r.Properties.MemorySize ?? 128),
      ...Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, dummy(v)])),
    };
    const functionNodeOptions = env.NODE_OPTIONS ?? '';
    delete env.NODE_OPTIONS;
    const service = env.POWERTOOLS_SERVICE_NAME ?? id;

    // The bare handler: the SDK clients the bundle creates at init, nothing else. A bundle that
    // imports a client on first use only (`import()`) is also timed against a bare handler that
    // creates that one too at init (as the function did before it deferred it).
    const { atInit: sdk, onUse } = match
      ? externals(match.metafile)
      : { atInit: ['@aws-sdk/client-sqs'], onUse: [] };
    const bare = path.join(OUTDIR, `bare-${service}.mjs`);
    writeFileSync(bare, bareModule(sdk));
    const bareAll = path.join(OUTDIR, `bare-all-${service}.mjs`);
    if (onUse.length > 0) writeFileSync(bareAll, bareModule([...sdk, ...onUse]));
    // A consumer's bundle carries the app's job modules: the bare handler is also timed with them.
    const jobs = match ? jobModulesOf(path.join(ROOT, match.entry)) : [];
    const bareJobs = path.join(OUTDIR, `bare-jobs-${service}`, 'index.mjs');
    if (jobs.length > 0) await bareWithJobs(sdk, jobs, bareJobs);

    const times = {
      bundle: [] as number[],
      bundleMaps: [] as number[],
      bare: [] as number[],
      bareAll: [] as number[],
      bareJobs: [] as number[],
    };
    for (let i = 0; i < RUNS; i++) {
      times.bare.push(Number(child(importTimer(bare), env, '').initMs));
      if (onUse.length > 0) times.bareAll.push(Number(child(importTimer(bareAll), env, '').initMs));
      if (jobs.length > 0) times.bareJobs.push(Number(child(importTimer(bareJobs), env, '').initMs));
      times.bundle.push(Number(child(importTimer(bundle), env, '').initMs));
      times.bundleMaps.push(Number(child(importTimer(bundle), env, '--enable-source-maps').initMs));
    }
    const mapBytes = statSync(`${bundle}.map`, { throwIfNoEntry: false })?.size ?? 0;
    // The certain part of what --enable-source-maps adds to init: Node reads and parses the map.
    const mapParse = median(
      Array.from({ length: RUNS }, () => {
        const t = performance.now();
        JSON.parse(readFileSync(`${bundle}.map`, 'utf8'));
        return performance.now() - t;
      }),
    );
    const init = {
      bare: median(times.bare),
      ...(onUse.length > 0 ? { bareAll: median(times.bareAll) } : {}),
      ...(jobs.length > 0 ? { bareJobs: median(times.bareJobs) } : {}),
      bundle: median(times.bundle),
      bundleMaps: median(times.bundleMaps),
    };
    console.log(
      `${service} (${id}${env.LANE ? `, lane ${env.LANE}` : ''}) — entry ${match?.entry ?? '(no rebuild matched the asset)'}`,
    );
    console.log(
      `  init: bundle ${init.bundle.toFixed(1)} ms, bare handler with ${sdk.join(' + ')} ${init.bare.toFixed(1)} ms, ` +
        `ratio ${(init.bundle / init.bare).toFixed(2)}×; with --enable-source-maps ${init.bundleMaps.toFixed(1)} ms ` +
        `(ratio ${(init.bundleMaps / init.bare).toFixed(2)}×; reading + parsing the map alone ${mapParse.toFixed(1)} ms)`,
    );
    if (init.bareAll !== undefined)
      console.log(
        `  imported on first use, not at init: ${onUse.join(' + ')}; a bare handler creating it too at init ` +
          `${init.bareAll.toFixed(1)} ms: the bundle's init is ${(init.bundle / init.bareAll).toFixed(2)}× that`,
      );
    if (init.bareJobs !== undefined)
      console.log(
        `  with the app's ${jobs.length} job module(s) (${jobs.map((j) => path.relative(ROOT, j)).join(', ')}) in the bare ` +
          `handler too: ${init.bareJobs.toFixed(1)} ms (the jobs alone ${(init.bareJobs - init.bare).toFixed(1)} ms); ` +
          `the package's runtime adds ${(init.bundle - init.bareJobs).toFixed(1)} ms: ratio ${(init.bundle / init.bareJobs).toFixed(2)}×`,
      );
    console.log(
      `  size: index.mjs ${kb(code.length)}, index.mjs.map ${kb(mapBytes)}  (function NODE_OPTIONS: "${functionNodeOptions}")`,
    );
    let libraries = 0;
    if (match) {
      const sizes = byPackage(match.metafile);
      libraries = [...sizes].filter(([k]) => !k.startsWith('(')).reduce((a, [, v]) => a + v, 0);
      console.log(
        `  inputs: ${[...sizes]
          .slice(0, 8)
          .map(([k, v]) => `${k} ${kb(v)}`)
          .join(', ')}${sizes.size > 8 ? `, … (${sizes.size} packages)` : ''}`,
      );
      console.log(
        `  bundle / libraries it contains: ${(code.length / libraries).toFixed(2)}× ` +
          `(${kb(code.length)} / ${kb(libraries)}; the rest is project and generated code and esbuild glue)`,
      );
    }
    let errors: { plain: Json; maps: Json } | undefined;
    if (service.includes('consumer')) {
      errors = {
        plain: child(errorTimer(bundle, ERRORS), env, ''),
        maps: child(errorTimer(bundle, ERRORS), env, '--enable-source-maps'),
      };
      const p = Number(errors.plain.usPerError);
      const m = Number(errors.maps.usPerError);
      console.log(
        `  error path (handler throws inside the bundle, stack read): ${p.toFixed(1)} µs per error without, ` +
          `${m.toFixed(1)} µs with --enable-source-maps (${(m / p).toFixed(1)}×, ${signed(m - p, 1)} µs); ` +
          `stack ${Number(errors.plain.stackBytes).toFixed(0)} B without, ${Number(errors.maps.stackBytes).toFixed(0)} B with`,
      );
      console.log(`    top frame without: ${String(errors.plain.top)}`);
      console.log(`    top frame with:    ${String(errors.maps.top)}`);
    }
    console.log('');
    return {
      service,
      id,
      lane: env.LANE,
      init,
      mapParseMs: mapParse,
      bundleBytes: code.length,
      mapBytes,
      libraries,
      errors,
    };
  };
  const failed: string[] = [];
  for (const [id, r] of Object.entries(template.Resources)) {
    try {
      const entry = await measure(id, r);
      if (entry) summary.push(entry);
    } catch (error) {
      // One bundle that cannot start (an environment its template does not give it) is a figure
      // too: the others are still measured, and the run exits 1.
      const message = error instanceof Error ? error.message : String(error);
      console.log(`${id}: not measured: ${message}\n`);
      failed.push(id);
      summary.push({ id, error: message });
    }
  }
  writeFileSync(
    path.join(OUTDIR, 'cold-start.json'),
    JSON.stringify({ checkout: ROOT, commit, node: nodeVersion, runs: RUNS, functions: summary }, null, 2),
  );
  console.log(`figures also in ${path.relative(ROOT, path.join(OUTDIR, 'cold-start.json'))}`);
  if (failed.length > 0) {
    console.error(`error: ${failed.length} function(s) could not be measured: ${failed.join(', ')}`);
    process.exitCode = 1;
  }
}

main().catch((error: unknown) => {
  console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
