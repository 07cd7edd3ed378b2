import { InvalidMessageError } from '../shared/errors';
import type { JobRegistry } from '../shared/jobs/registry';

/** What the producer knows of one job type: no handler code, only how to route and check it. */
export interface CatalogType {
  readonly ordered: boolean;
  /** The custom lane that runs the type; `undefined` for the default lanes. */
  readonly lane?: string;
  /** Whether that custom lane is FIFO (`undefined` for the default lanes). */
  readonly laneFifo?: boolean;
}

/** One problem with a payload: the field (`payload.to`) and what is wrong with it. */
export interface PayloadIssue {
  readonly field: string;
  readonly message: string;
}

/**
 * The job types the producer accepts. In a deployed producer it is built at synth from the app's
 * job modules (their JSON Schemas, compiled to validators: no job code and no zod schema of a
 * job is bundled); {@link catalogFromRegistry} builds one from a registry, for tests and tools.
 */
export interface JobCatalog {
  has(type: string): boolean;
  types(): readonly string[];
  /** The type's routing facts; call only for a type {@link has} knows. */
  get(type: string): CatalogType;
  /** Validates `payload`; returns the payload to enqueue (defaults applied) or the issues. */
  validate(
    type: string,
    payload: Record<string, unknown>,
  ): { ok: true; payload: Record<string, unknown> } | { ok: false; issues: PayloadIssue[] };
}

/** A catalog over a job registry (zod schemas, lanes and ordering from the definitions). */
export function catalogFromRegistry(
  registry: JobRegistry,
  laneKinds: Readonly<Record<string, { readonly fifo: boolean }>> = {},
): JobCatalog {
  return {
    has: (type) => registry.has(type),
    types: () => registry.types(),
    get(type) {
      const def = registry.get(type);
      const custom = def.lane !== undefined && def.lane !== 'standard' && def.lane !== 'fifo';
      if (def.lane === 'fifo') return { ordered: def.ordered, lane: 'fifo', laneFifo: true };
      return custom
        ? { ordered: def.ordered, lane: def.lane, laneFifo: laneKinds[def.lane!]?.fifo ?? false }
        : { ordered: def.ordered };
    },
    validate(type, payload) {
      try {
        return { ok: true, payload: registry.parsePayload(type, payload) as Record<string, unknown> };
      } catch (error) {
        if (!(error instanceof InvalidMessageError)) throw error;
        return {
          ok: false,
          issues: error.issues.map((i) => {
            const [field, ...message] = i.split(': ');
            return { field: field ?? 'payload', message: message.join(': ') };
          }),
        };
      }
    },
  };
}

/** A validator compiled at synth (Ajv standalone code): true when valid, else `errors` set. */
export interface CompiledValidator {
  (data: unknown): boolean;
  errors?:
    | readonly {
        instancePath: string;
        keyword: string;
        message?: string;
        params: Record<string, unknown>;
      }[]
    | null;
}

/** The field an Ajv error is about, as the API names fields (`payload.a.b`, `payload.list.0`). */
function fieldOf(e: NonNullable<CompiledValidator['errors']>[number]): string {
  const parts = e.instancePath
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (e.keyword === 'required') parts.push(String(e.params.missingProperty));
  if (e.keyword === 'additionalProperties') parts.push(String(e.params.additionalProperty));
  return ['payload', ...parts].join('.');
}

function messageOf(e: NonNullable<CompiledValidator['errors']>[number]): string {
  if (e.keyword === 'required') return 'required';
  if (e.keyword === 'additionalProperties') return 'not a field of this type';
  return e.message ?? `fails ${e.keyword}`;
}

/**
 * The catalog a deployed producer uses: routing facts and validators generated at synth
 * (`lib/bundling/entries.ts`). Validators apply the schemas' defaults to the payload they check.
 */
export function compiledCatalog(
  types: Readonly<Record<string, CatalogType>>,
  validators: Readonly<Record<string, CompiledValidator>>,
): JobCatalog {
  const names = Object.keys(types);
  return {
    has: (type) => Object.prototype.hasOwnProperty.call(types, type),
    types: () => names,
    get: (type) => types[type]!,
    validate(type, payload) {
      const validate = validators[type];
      if (!validate) throw new Error(`no validator for job type ${type}`);
      if (validate(payload)) return { ok: true, payload };
      const seen = new Set<string>();
      const issues: PayloadIssue[] = [];
      const errors = validate.errors ?? [];
      // A format (email, date) comes with the pattern zod emits for it: name the format only.
      const formatted = new Set(errors.filter((e) => e.keyword === 'format').map((e) => e.instancePath));
      for (const e of errors) {
        if (e.keyword === 'pattern' && formatted.has(e.instancePath)) continue;
        const issue = { field: fieldOf(e), message: messageOf(e) };
        const k = `${issue.field}\u0000${issue.message}`;
        if (!seen.has(k)) {
          seen.add(k);
          issues.push(issue);
        }
      }
      return { ok: false, issues };
    },
  };
}
