/**
 * Counts how often each message's probe handler really succeeded, including runs inside
 * invocations that crashed afterwards (which the invocation journal reports as failed). Local
 * mode must run with `logs: 'json'`: the witness takes over `process.stdout` and `process.stderr` while it runs, counts
 * the probe's `probe succeeded` lines by `messageId`, and swallows local mode's other JSON lines
 * (function logs, status lines); anything else is written through.
 */
import { PROBE_SUCCEEDED } from '../lambda/shared/jobs/probe';

/** A running witness. */
export interface ProbeWitness {
  /** Successful probe runs so far, by SQS message id. */
  readonly runs: ReadonlyMap<string, number>;
  /** SQS message ids of the successful runs, in the order their lines arrived (one per run). */
  readonly order: readonly string[];
  /** Gives `process.stdout` back. */
  stop(): void;
}

/** Starts counting (function lines go to stdout and stderr); call `stop()` when local mode has stopped. */
export function startProbeWitness(
  streams: readonly NodeJS.WriteStream[] = [process.stdout, process.stderr],
): ProbeWitness {
  const runs = new Map<string, number>();
  const order: string[] = [];
  const stops = streams.map((s) => witnessStream(s, runs, order));
  return {
    runs,
    order,
    stop: () => stops.forEach((stop) => stop()),
  };
}

function witnessStream(stream: NodeJS.WriteStream, runs: Map<string, number>, order: string[]): () => void {
  const original = stream.write.bind(stream);
  let pending = '';
  const take = (line: string): boolean => {
    if (!line.startsWith('{')) return false;
    try {
      const o = JSON.parse(line) as { message?: unknown; messageId?: unknown };
      if (o.message === PROBE_SUCCEEDED && typeof o.messageId === 'string') {
        runs.set(o.messageId, (runs.get(o.messageId) ?? 0) + 1);
        order.push(o.messageId);
      }
      return true;
    } catch {
      return false;
    }
  };
  stream.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    pending += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    const lines = pending.split('\n');
    pending = lines.pop()!;
    const through = lines.filter((l) => l !== '' && !take(l));
    const callback = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
    if (through.length > 0) return original(`${through.join('\n')}\n`, callback);
    callback?.();
    return true;
  }) as typeof stream.write;
  return () => {
    stream.write = original as typeof stream.write;
    if (pending && !take(pending)) original(pending);
    pending = '';
  };
}
