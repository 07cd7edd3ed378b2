/**
 * One local Lambda execution environment: runs in a `worker_threads` Worker started by
 * `host.ts`, with the function's own `process.env`. It loads the function's bundled
 * asset from `cdk.out` once (the "cold start"), then serves invocations one at a time, like a
 * Lambda sandbox. Plain JavaScript so it runs under tsx, vitest and plain node alike.
 *
 * Protocol (host ⇄ worker, via `parentPort`):
 * - worker → host `{ type: 'ready' }` after the module loaded, or `{ type: 'init-error', error }`;
 * - host → worker `{ type: 'invoke', id, event (JSON text), requestId, deadline (epoch ms), traceId }`;
 * - worker → host `{ type: 'result', id, payload (JSON text) }` or `{ type: 'error', id, error }`;
 * - worker → host `{ type: 'fatal', error }` right before the runtime dies (unhandled rejection);
 * - worker → host `{ type: 'log', stdout, stderr }`: what the function wrote, batched per event-loop turn.
 *
 * Nothing here changes what the handler code does: it only supplies what the Lambda runtime
 * supplies (context, JSON console format) and makes the emulator's `*.localhost` host names
 * resolvable, which is what fauxqs's `interceptLocalhostDns()` does (inlined here so a sandbox
 * does not load the emulator's web framework).
 */

import { Buffer } from 'node:buffer';
import dns from 'node:dns';
import process from 'node:process';
import { setImmediate } from 'node:timers';
import { format } from 'node:util';
import { pathToFileURL } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';

/**
 * @typedef {object} SandboxData
 * @property {string} file absolute path of the handler module
 * @property {string} exportName export that holds the handler
 * @property {string} handler `Handler` as written in the template
 * @property {string} functionName
 * @property {string} functionArn
 * @property {number} memoryMb
 * @property {string} logGroupName
 * @property {string} logStreamName
 * @property {boolean} jsonLogs emulate Lambda's JSON log format for console.* calls
 * @property {boolean} silent discard everything the function writes
 */

/** @type {SandboxData} */
const data = workerData;
const port = /** @type {import('node:worker_threads').MessagePort} */ (parentPort);

// --- *.localhost → 127.0.0.1 (the emulator's queue URLs use host sqs.<region>.localhost) ---
const originalLookup = dns.lookup;
/** @type {any} */
const patchedLookup = function lookup(
  /** @type {any} */ hostname,
  /** @type {any} */ options,
  /** @type {any} */ callback,
) {
  const cb = typeof options === 'function' ? options : callback;
  const all = typeof options === 'object' && options !== null && options.all;
  if (typeof hostname === 'string' && (hostname === 'localhost' || hostname.endsWith('.localhost'))) {
    if (all) process.nextTick(cb, null, [{ address: '127.0.0.1', family: 4 }]);
    else process.nextTick(cb, null, '127.0.0.1', 4);
    return {};
  }
  return originalLookup.call(dns, hostname, options, callback);
};
dns.lookup = patchedLookup;

if ((process.env.NODE_OPTIONS ?? '').includes('--enable-source-maps')) process.setSourceMapsEnabled(true);

// --- stdout / stderr: captured like Lambda's runtime does, and handed to the host in batches ---
// (one message per event-loop turn instead of the worker stdio streams' per-chunk round trips,
// which cost more than the handlers themselves under load).
/** @type {{ stdout: string[], stderr: string[] }} */
const captured = { stdout: [], stderr: [] };
let flushScheduled = false;
function flush() {
  flushScheduled = false;
  if (captured.stdout.length === 0 && captured.stderr.length === 0) return;
  port.postMessage({ type: 'log', stdout: captured.stdout.join(''), stderr: captured.stderr.join('') });
  captured.stdout = [];
  captured.stderr = [];
}
for (const name of /** @type {const} */ (['stdout', 'stderr'])) {
  const stream = process[name];
  /** @type {any} */ (stream).write = (
    /** @type {any} */ chunk,
    /** @type {any} */ encoding,
    /** @type {any} */ cb,
  ) => {
    const callback = typeof encoding === 'function' ? encoding : cb;
    if (!data.silent) {
      captured[name].push(
        typeof chunk === 'string'
          ? chunk
          : Buffer.from(chunk).toString(typeof encoding === 'string' ? encoding : 'utf8'),
      );
      if (!flushScheduled) {
        flushScheduled = true;
        setImmediate(flush);
      }
    }
    if (typeof callback === 'function') process.nextTick(callback);
    return true;
  };
}
// Output written right before process.exit (e.g. a crash) still reaches the host.
process.on('exit', flush);

/** @type {string | undefined} */
let currentRequestId;

// --- Lambda's JSON log format for plain console.* calls (LoggingConfig.LogFormat = JSON) ---
if (data.jsonLogs) {
  /** @type {[keyof Console, string][]} */
  const levels = [
    ['log', 'INFO'],
    ['info', 'INFO'],
    ['warn', 'WARN'],
    ['error', 'ERROR'],
    ['debug', 'DEBUG'],
    ['trace', 'TRACE'],
  ];
  for (const [method, level] of levels) {
    const stream = level === 'ERROR' || level === 'WARN' ? process.stderr : process.stdout;
    /** @type {any} */ (console)[method] = (/** @type {unknown[]} */ ...args) => {
      const line = {
        timestamp: new Date().toISOString(),
        level,
        requestId: currentRequestId,
        message: format(...args),
      };
      stream.write(`${JSON.stringify(line)}\n`);
    };
  }
}

/**
 * The error shape the host reports (Lambda's errorType / errorMessage).
 * @param {unknown} err
 * @param {string} [fallbackName]
 */
function describe(err, fallbackName = 'Error') {
  if (err instanceof Error) return { name: err.name || fallbackName, message: err.message, stack: err.stack };
  return { name: fallbackName, message: typeof err === 'string' ? err : format(err) };
}

process.on('unhandledRejection', (reason) => {
  const e = describe(reason);
  port.postMessage({
    type: 'fatal',
    error: { name: 'Runtime.UnhandledPromiseRejection', message: `${e.name}: ${e.message}` },
  });
  process.exit(128);
});

/** @type {(event: unknown, context: object) => unknown} */
let handler;
try {
  const mod = await import(pathToFileURL(data.file).href);
  const fn = mod[data.exportName] ?? mod.default?.[data.exportName];
  if (typeof fn !== 'function') {
    port.postMessage({
      type: 'init-error',
      error: { name: 'Runtime.HandlerNotFound', message: `${data.handler} is undefined or not exported` },
    });
    process.exit(1);
  }
  handler = fn;
  port.postMessage({ type: 'ready' });
} catch (err) {
  const code = /** @type {{ code?: string }} */ (err)?.code;
  const name =
    code === 'ERR_MODULE_NOT_FOUND'
      ? 'Runtime.ImportModuleError'
      : err instanceof SyntaxError
        ? 'Runtime.UserCodeSyntaxError'
        : undefined;
  const e = describe(err);
  port.postMessage({ type: 'init-error', error: { ...e, name: name ?? e.name } });
  process.exit(1);
}

port.on(
  'message',
  async (
    /** @type {{ type: string, id: number, event: string, requestId: string, deadline: number, traceId: string }} */ msg,
  ) => {
    if (msg.type !== 'invoke') return;
    currentRequestId = msg.requestId;
    process.env._X_AMZN_TRACE_ID = msg.traceId;
    const context = {
      callbackWaitsForEmptyEventLoop: true,
      functionName: data.functionName,
      functionVersion: '$LATEST',
      invokedFunctionArn: data.functionArn,
      memoryLimitInMB: String(data.memoryMb),
      awsRequestId: msg.requestId,
      logGroupName: data.logGroupName,
      logStreamName: data.logStreamName,
      identity: undefined,
      clientContext: undefined,
      getRemainingTimeInMillis: () => Math.max(0, msg.deadline - Date.now()),
    };
    try {
      const result = await handler(JSON.parse(msg.event), context);
      let payload;
      try {
        payload = JSON.stringify(result === undefined ? null : result);
      } catch (err) {
        port.postMessage({
          type: 'error',
          id: msg.id,
          error: { name: 'Runtime.MarshalError', message: describe(err).message },
        });
        return;
      }
      flush();
      port.postMessage({ type: 'result', id: msg.id, payload });
    } catch (err) {
      const e = describe(err);
      // The runtime logs a failed invocation ("Invoke Error"), as Lambda does.
      const stackTrace = e.stack
        ? e.stack
            .split('\n')
            .slice(1)
            .map((l) => l.trim())
        : [];
      const line = { errorType: e.name, errorMessage: e.message, stackTrace };
      process.stderr.write(
        `${JSON.stringify({ timestamp: new Date().toISOString(), level: 'ERROR', requestId: msg.requestId, message: line })}\n`,
      );
      flush();
      port.postMessage({ type: 'error', id: msg.id, error: { name: e.name, message: e.message } });
    }
  },
);
