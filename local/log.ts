/**
 * How local mode writes to the terminal:
 * - `pretty`: status lines as text; function log lines shortened to `Function  LEVEL  message  {extra keys}`;
 * - `json`: every line is JSON: function log lines exactly as the handler wrote them, status lines as
 *   `{"timestamp","level","source":"local","message"}` (pipe it to jq);
 * - `silent`: nothing (tests).
 */
export type LogMode = 'pretty' | 'json' | 'silent';

/** Where local mode's status lines and the functions' log lines go. */
export interface LocalLogger {
  readonly mode: LogMode;
  /** A status line of the local runtime. */
  info(message: string): void;
  /** A problem the runtime recovered from. */
  warn(message: string): void;
  /** One line a function wrote to stdout or stderr. */
  functionLine(functionId: string, stream: 'stdout' | 'stderr', line: string): void;
}

/** Keys of Powertools / Lambda JSON log lines that `pretty` mode leaves out (they repeat on every line). */
const NOISY_KEYS = new Set([
  'timestamp',
  'level',
  'message',
  'service',
  'cold_start',
  'function_name',
  'function_memory_size',
  'function_arn',
  'function_request_id',
  'xray_trace_id',
  'sampling_rate',
  'requestId',
]);

/** A short label for a function's logical id: the id without CDK's 8-hex-digit hash suffix. */
export function functionLabel(logicalId: string): string {
  return logicalId.replace(/[0-9A-F]{8}$/, '').replace(/HandlerFunction$|Function$/, '') || logicalId;
}

/** Renders one function log line for `pretty` mode (non-JSON lines are returned as they are). */
export function prettyLine(label: string, line: string): string {
  let parsed: unknown;
  try {
    parsed = line.startsWith('{') ? JSON.parse(line) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!parsed || typeof parsed !== 'object') return `${label}  ${line}`;
  const o = parsed as Record<string, unknown>;
  if (o._aws && typeof o._aws === 'object') {
    // An embedded-metric-format record: show the metric values only.
    const metrics = (
      (o._aws as { CloudWatchMetrics?: { Metrics?: { Name: string }[] }[] }).CloudWatchMetrics ?? []
    )
      .flatMap((m) => m.Metrics ?? [])
      .map((m) => `${m.Name}=${JSON.stringify(o[m.Name])}`);
    return `${label}  METRIC  ${metrics.join(' ')}`;
  }
  const level = String(o.level ?? 'INFO').padEnd(5);
  const message = typeof o.message === 'string' ? o.message : JSON.stringify(o.message);
  const extra = Object.fromEntries(Object.entries(o).filter(([k]) => !NOISY_KEYS.has(k)));
  return `${label}  ${level}  ${message}${Object.keys(extra).length ? `  ${JSON.stringify(extra)}` : ''}`;
}

/** Creates the logger for `mode`, writing to the given streams. */
export function createLocalLogger(
  mode: LogMode,
  out: NodeJS.WritableStream = process.stdout,
  err: NodeJS.WritableStream = process.stderr,
): LocalLogger {
  const labels = new Map<string, string>();
  const labelOf = (id: string) => {
    let l = labels.get(id);
    if (!l) labels.set(id, (l = functionLabel(id)));
    return l;
  };
  const status = (level: 'INFO' | 'WARN', message: string) => {
    if (mode === 'silent') return;
    if (mode === 'json') {
      out.write(
        `${JSON.stringify({ timestamp: new Date().toISOString(), level, source: 'local', message })}\n`,
      );
    } else out.write(`${level === 'WARN' ? 'warning: ' : ''}${message}\n`);
  };
  return {
    mode,
    info: (message) => status('INFO', message),
    warn: (message) => status('WARN', message),
    functionLine(functionId, stream, line) {
      if (mode === 'silent' || line === '') return;
      const target = stream === 'stderr' ? err : out;
      target.write(`${mode === 'json' ? line : prettyLine(labelOf(functionId), line)}\n`);
    },
  };
}
