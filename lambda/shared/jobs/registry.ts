import type { z } from './zod';
import { InvalidMessageError, UnknownJobTypeError } from '../errors';
import type { JobDefinition } from './types';

/** Maps job type names to their definitions. Producer and consumers share one instance. */
export class JobRegistry {
  private readonly jobs = new Map<string, JobDefinition>();

  constructor(defs: readonly JobDefinition[] = []) {
    for (const d of defs) this.register(d);
  }

  /** Adds a job type; registering a name twice is a programming error. */
  register(def: JobDefinition): this {
    if (this.jobs.has(def.type)) throw new Error(`Job type "${def.type}" is registered twice`);
    this.jobs.set(def.type, def);
    return this;
  }

  has(type: string): boolean {
    return this.jobs.has(type);
  }

  /** The definition of `type`, or {@link UnknownJobTypeError}. */
  get(type: string): JobDefinition {
    const def = this.jobs.get(type);
    if (!def) throw new UnknownJobTypeError(type);
    return def;
  }

  types(): string[] {
    return [...this.jobs.keys()];
  }

  /** Validates `payload` against the type's schema; returns the parsed payload or throws {@link InvalidMessageError}. */
  parsePayload(type: string, payload: unknown): unknown {
    const result = (this.get(type).schema as z.ZodType).safeParse(payload);
    if (!result.success) {
      const issues = result.error.issues.map((i) =>
        `payload.${i.path.join('.')}: ${i.message}`.replace(/\.:/, ':'),
      );
      throw new InvalidMessageError(`Payload of "${type}" is invalid: ${issues.join('; ')}`, issues);
    }
    return result.data;
  }
}
