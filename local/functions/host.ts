import { randomBytes, randomUUID } from 'node:crypto';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { Worker } from 'node:worker_threads';
import type { InvocationError } from '../control/journal';
import type { LocalLogger } from '../log';
import type { FunctionSpec } from '../template/topology';

/** The outcome of one invocation. Function errors are outcomes, not exceptions. */
export type InvokeOutcome = {
  readonly requestId: string;
  /** When the handler was called (after a cold start, if there was one). */
  readonly startedAt: Date;
  readonly durationMs: number;
} & (
  { readonly ok: true; readonly payload: unknown } | { readonly ok: false; readonly error: InvocationError }
);

/** Options of {@link FunctionHost}. */
export interface FunctionHostOptions {
  readonly spec: FunctionSpec;
  /** The sandbox's complete `process.env`. */
  readonly env: Readonly<Record<string, string>>;
  /** Most sandboxes (= concurrent invocations) of this function. */
  readonly maxConcurrency: number;
  readonly logger: LocalLogger;
  /** CloudWatch log group name, for `context.logGroupName`. */
  readonly logGroupName: string;
  /** Limit of the module load ("init") phase. @default 10 s, as in Lambda */
  readonly initTimeoutMs?: number;
}

/** The outcome of invocations refused or cut short because the host is stopping. */
const STOPPED: InvocationError = { name: 'Local.Stopped', message: 'local mode is stopping' };

type Pending = {
  readonly id: number;
  readonly settle: (r: { ok: true; payload: unknown } | { ok: false; error: InvocationError }) => void;
  readonly timer: NodeJS.Timeout;
};

/** One execution environment: a worker thread that has (or is) loading the function's bundle. */
class Sandbox {
  readonly worker: Worker;
  /** Resolves when the bundle is loaded; rejects with the init error. */
  readonly ready: Promise<void>;
  pending?: Pending;
  dead = false;
  /** The error the worker announced right before dying (unhandled rejection). */
  fatal?: InvocationError;
  /** Hands captured output to the logger, line by line. */
  private readonly forward: (stream: 'stdout' | 'stderr', text: string) => void;
  private initError?: InvocationError;

  constructor(options: FunctionHostOptions, onExit: (s: Sandbox, code: number) => void) {
    const { spec } = options;
    const logStreamName = `${new Date().toISOString().slice(0, 10).replaceAll('-', '/')}/[$LATEST]${randomBytes(16).toString('hex')}`;
    this.worker = new Worker(path.join(__dirname, 'worker.mjs'), {
      env: { ...options.env, AWS_LAMBDA_LOG_STREAM_NAME: logStreamName },
      workerData: {
        file: spec.file,
        exportName: spec.exportName,
        handler: spec.handler,
        functionName: spec.name,
        functionArn: spec.arn,
        memoryMb: spec.memoryMb,
        logGroupName: options.logGroupName,
        logStreamName,
        jsonLogs: options.env.AWS_LAMBDA_LOG_FORMAT === 'JSON',
        silent: options.logger.mode === 'silent',
      },
      stdout: true,
      stderr: true,
      // A plain Node.js runtime: no loader hooks inherited from the host (tsx, vitest), which
      // would also slow every sandbox's cold start several-fold.
      execArgv: [],
      // The function's memory setting bounds the V8 heap (Lambda's limit covers the whole sandbox).
      resourceLimits: { maxOldGenerationSizeMb: Math.max(64, spec.memoryMb) },
      name: spec.logicalId,
    });
    // The sandbox captures its stdout/stderr and sends it as 'log' messages; anything written
    // around that capture (e.g. by Node itself) still arrives on the worker's stdio streams.
    const partial = { stdout: '', stderr: '' };
    this.forward = (stream, text) => {
      const lines = (partial[stream] + text).split('\n');
      partial[stream] = lines.pop()!;
      for (const line of lines) options.logger.functionLine(spec.logicalId, stream, line);
    };
    for (const stream of ['stdout', 'stderr'] as const) {
      const readable = this.worker[stream];
      if (options.logger.mode === 'silent') readable.resume();
      else {
        createInterface({ input: readable, crlfDelay: Infinity }).on('line', (line) =>
          options.logger.functionLine(spec.logicalId, stream, line),
        );
      }
    }
    const initTimeoutMs = options.initTimeoutMs ?? 10_000;
    this.ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.initError = {
          name: 'Sandbox.Timedout',
          message: `Init phase did not complete within ${initTimeoutMs} ms`,
        };
        reject(this.initError);
        void this.worker.terminate();
      }, initTimeoutMs);
      this.worker.on(
        'message',
        (msg: {
          type: string;
          id?: number;
          payload?: string;
          error?: InvocationError;
          stdout?: string;
          stderr?: string;
        }) => {
          switch (msg.type) {
            case 'log':
              if (msg.stdout) this.forward('stdout', msg.stdout);
              if (msg.stderr) this.forward('stderr', msg.stderr);
              return;
            case 'ready':
              clearTimeout(timer);
              resolve();
              return;
            case 'init-error':
              clearTimeout(timer);
              this.initError = { name: msg.error!.name, message: msg.error!.message };
              reject(this.initError);
              return;
            case 'fatal':
              this.fatal = { name: msg.error!.name, message: msg.error!.message };
              return;
            case 'result':
            case 'error': {
              const p = this.pending;
              if (!p || p.id !== msg.id) return;
              if (msg.type === 'error') {
                p.settle({ ok: false, error: { name: msg.error!.name, message: msg.error!.message } });
                return;
              }
              let payload: unknown;
              try {
                payload = JSON.parse(msg.payload!);
              } catch {
                payload = msg.payload;
              }
              p.settle({ ok: true, payload });
            }
          }
        },
      );
      this.worker.on('error', (err: Error & { code?: string }) => {
        clearTimeout(timer);
        const e: InvocationError =
          err.code === 'ERR_WORKER_OUT_OF_MEMORY'
            ? { name: 'Runtime.OutOfMemory', message: `Runtime exited: out of memory (${spec.memoryMb} MB)` }
            : { name: err.name || 'Error', message: err.message };
        this.fatal ??= e;
        reject(this.initError ?? e);
      });
      this.worker.on('exit', (code) => {
        clearTimeout(timer);
        this.dead = true;
        reject(
          this.initError ?? {
            name: 'Runtime.ExitError',
            message: `Runtime exited with error: exit status ${code}`,
          },
        );
        onExit(this, code);
      });
    });
    // Init errors are reported to the invocation that waits for the sandbox.
    this.ready.catch(() => undefined);
  }
}

/**
 * Runs one function's bundled asset the way Lambda does: a pool of execution environments
 * (worker threads, each with its own `process.env`) reused while warm, at most `maxConcurrency`
 * at a time (further invocations wait for a free one), the template's `Timeout` enforced from
 * here (the sandbox is terminated → `Sandbox.Timedout`), and a sandbox whose runtime exits
 * (`process.exit`, out of memory, unhandled rejection) replaced by a fresh one on the next
 * invocation (→ `Runtime.ExitError`).
 *
 * @example
 * const host = new FunctionHost({ spec, env, maxConcurrency: 4, logger, logGroupName });
 * const outcome = await host.invoke({ Records: [] });
 * if (!outcome.ok) console.log(outcome.error.name);
 */
export class FunctionHost {
  readonly spec: FunctionSpec;
  private readonly options: FunctionHostOptions;
  private readonly idle: Sandbox[] = [];
  private readonly all = new Set<Sandbox>();
  private readonly waiters: ((ok: boolean) => void)[] = [];
  private inUse = 0;
  private seq = 0;
  private stopped = false;
  private running = 0;
  private readonly drained: (() => void)[] = [];

  constructor(options: FunctionHostOptions) {
    this.spec = options.spec;
    this.options = options;
  }

  /** Invocations currently running or waiting for a sandbox. */
  get active(): number {
    return this.running;
  }

  /** Number of live sandboxes (busy or idle). */
  get sandboxes(): number {
    return this.all.size;
  }

  /**
   * Invokes the function with `event` (serialized as JSON, as Lambda does) and resolves with its
   * outcome; never rejects for function errors, timeouts or crashes.
   */
  /**
   * Runs `event` on a sandbox (waiting for one when all are busy). `onStart` is called once the
   * invocation holds a sandbox slot (before a cold start): what waited until then was local mode's
   * queue, where Lambda would have scaled out.
   */
  async invoke(event: unknown, onStart?: () => void): Promise<InvokeOutcome> {
    const requestId = randomUUID();
    this.running++;
    try {
      return await this.run(event, requestId, onStart);
    } finally {
      this.running--;
      if (this.running === 0) for (const d of this.drained.splice(0)) d();
    }
  }

  private async run(event: unknown, requestId: string, onStart?: () => void): Promise<InvokeOutcome> {
    const failed = (error: InvocationError, startedAt = new Date()): InvokeOutcome => ({
      requestId,
      startedAt,
      durationMs: Date.now() - startedAt.getTime(),
      ok: false,
      error,
    });
    if (!(await this.acquire())) return failed(STOPPED);
    onStart?.();
    let sandbox: Sandbox | undefined;
    try {
      // A warm sandbox whose runtime died while idle is replaced, as Lambda would.
      do sandbox = this.idle.pop() ?? this.spawn();
      while (sandbox.dead);
      try {
        await sandbox.ready;
      } catch (error) {
        this.discard(sandbox);
        return failed(error as InvocationError);
      }
      if (sandbox.dead)
        return failed(sandbox.fatal ?? { name: 'Runtime.ExitError', message: 'Runtime exited' });
      const startedAt = new Date();
      const timeoutMs = this.spec.timeoutSeconds * 1000;
      const id = ++this.seq;
      const s = sandbox;
      const result = await new Promise<
        { ok: true; payload: unknown } | { ok: false; error: InvocationError }
      >((resolve) => {
        const timer = setTimeout(() => {
          s.pending = undefined;
          this.discard(s);
          resolve({
            ok: false,
            error: {
              name: 'Sandbox.Timedout',
              message: `Task timed out after ${this.spec.timeoutSeconds.toFixed(2)} seconds`,
            },
          });
        }, timeoutMs);
        s.pending = {
          id,
          timer,
          settle: (r) => {
            clearTimeout(timer);
            s.pending = undefined;
            resolve(r);
          },
        };
        s.worker.postMessage({
          type: 'invoke',
          id,
          event: JSON.stringify(event ?? null),
          requestId,
          deadline: startedAt.getTime() + timeoutMs,
          // 24 hex digits from Node's buffered UUID source (a randomBytes call per invocation is a
          // synchronous CSPRNG call on the host's event loop).
          traceId: `Root=1-${Math.floor(startedAt.getTime() / 1000).toString(16)}-${randomUUID().replaceAll('-', '').slice(0, 24)};Sampled=0`,
        });
      });
      const durationMs = Date.now() - startedAt.getTime();
      if (result.ok) return { requestId, startedAt, durationMs, ok: true, payload: result.payload };
      return { requestId, startedAt, durationMs, ok: false, error: result.error };
    } finally {
      if (sandbox && !sandbox.dead && this.all.has(sandbox) && !this.stopped) this.idle.push(sandbox);
      this.release();
    }
  }

  private spawn(): Sandbox {
    const sandbox = new Sandbox(this.options, (s, code) => this.onExit(s, code));
    this.all.add(sandbox);
    return sandbox;
  }

  private onExit(sandbox: Sandbox, code: number): void {
    this.all.delete(sandbox);
    const i = this.idle.indexOf(sandbox);
    if (i >= 0) this.idle.splice(i, 1);
    const p = sandbox.pending;
    if (p) {
      p.settle({
        ok: false,
        error: sandbox.fatal ?? {
          name: 'Runtime.ExitError',
          message: `Runtime exited with error: exit status ${code}`,
        },
      });
    }
  }

  private discard(sandbox: Sandbox): void {
    this.all.delete(sandbox);
    sandbox.dead = true;
    void sandbox.worker.terminate();
  }

  private acquire(): Promise<boolean> {
    if (this.stopped) return Promise.resolve(false);
    if (this.inUse < this.options.maxConcurrency) {
      this.inUse++;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private release(): void {
    const next = this.waiters.shift();
    if (next && !this.stopped) next(true);
    else this.inUse--;
  }

  /** Resolves when no invocation is running, or after `timeoutMs`. */
  async drain(timeoutMs: number): Promise<void> {
    if (this.running === 0) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.drained.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Refuses new invocations, fails waiting ones, and terminates every sandbox. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const w of this.waiters.splice(0)) w(false);
    const sandboxes = [...this.all];
    this.all.clear();
    this.idle.length = 0;
    await Promise.all(
      sandboxes.map((s) => {
        s.pending?.settle({ ok: false, error: STOPPED });
        s.dead = true;
        return s.worker.terminate();
      }),
    );
  }
}
