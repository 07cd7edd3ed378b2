import { z } from 'zod';
import { ConfigError } from './errors';

/**
 * One environment variable of a function's configuration contract: its name (written only here),
 * how its text is parsed at cold start, and how the construct's value is written.
 */
export interface EnvVar<T, In> {
  readonly name: string;
  readonly schema: z.ZodType<T, string>;
  /** Writes the construct's value (CDK tokens are strings or numbers). */
  readonly format: (value: In, codec: EnvCodec) => string;
}

/**
 * How values that need the deploy tool's help are written. The construct passes
 * `Stack.of(this).toJsonString` so that CDK tokens inside a JSON value resolve; this module stays
 * free of `aws-cdk-lib` (function bundles must not pull it in).
 */
export interface EnvCodec {
  /** @default JSON.stringify */
  readonly json?: (value: unknown) => string;
}

/** A required, non-empty text variable (queue URLs, bucket names). */
export function text(name: string): EnvVar<string, string> {
  return { name, schema: z.string(), format: (v) => v };
}

/** A required integer variable. */
export function integer(name: string): EnvVar<number, number> {
  return {
    name,
    schema: z
      .string()
      .transform(Number)
      .refine((n) => Number.isInteger(n), 'must be an integer'),
    format: (v) => String(v),
  };
}

/** A comma-separated list of values from `allowed`; an unknown value is an error. */
export function oneOfList<T extends string>(name: string, allowed: readonly T[]): EnvVar<T[], readonly T[]> {
  return {
    name,
    schema: z
      .string()
      .transform((raw) => raw.split(',').map((m) => m.trim()))
      .pipe(z.array(z.enum(allowed as [T, ...T[]], `must list only ${allowed.join(', ')}`))),
    format: (v) => v.join(','),
  };
}

/** A JSON-encoded value checked against `schema`. */
export function json<T>(name: string, schema: z.ZodType<T>): EnvVar<T, T> {
  return {
    name,
    schema: z
      .string()
      .transform((raw, ctx) => {
        try {
          return JSON.parse(raw) as unknown;
        } catch {
          ctx.addIssue({ code: 'custom', message: 'must be JSON' });
          return z.NEVER;
        }
      })
      .pipe(schema),
    format: (v, codec) => (codec.json ?? JSON.stringify)(v),
  };
}

type Spec = Record<string, EnvVar<unknown, never>>;

/** The typed configuration a contract (or its spec) parses to. */
export type ConfigOf<C> = C extends EnvContract<infer S> ? ConfigOfSpec<S> : ConfigOfSpec<C>;
type ConfigOfSpec<S> = { readonly [K in keyof S]: S[K] extends EnvVar<infer T, never> ? T : never };
/** What the construct gives a contract's `toEnvironment` (CDK tokens are strings or numbers). */
export type EnvironmentInput<C> =
  C extends EnvContract<infer S> ? EnvironmentInputOfSpec<S> : EnvironmentInputOfSpec<C>;
type EnvironmentInputOfSpec<S> = {
  readonly [K in keyof S]: S[K] extends EnvVar<unknown, infer In> ? In : never;
};

/** The two directions of one function's environment contract. */
export interface EnvContract<S> {
  /** The variables, by configuration key. */
  readonly spec: S;
  /** The names of the variables, in declaration order. */
  readonly variables: readonly string[];
  /** The function's environment variables for the construct that sets them. */
  toEnvironment(input: EnvironmentInput<S>, codec?: EnvCodec): Record<string, string>;
  /** Parses the environment at cold start; throws {@link ConfigError} naming the first bad variable. */
  fromEnvironment(env: Readonly<Record<string, string | undefined>>): ConfigOf<S>;
}

/**
 * Defines a function's environment contract: one schema, each variable name written once.
 *
 * @example
 * const contract = defineEnvironment({ bucket: text('ARCHIVE_BUCKET') });
 * contract.fromEnvironment({ ARCHIVE_BUCKET: 'failures' }).bucket; // 'failures'
 */
export function defineEnvironment<S extends Spec>(spec: S): EnvContract<S> {
  return {
    spec,
    variables: Object.values(spec).map((v) => v.name),
    toEnvironment(input, codec = {}) {
      const out: Record<string, string> = {};
      for (const [key, v] of Object.entries(spec)) {
        out[v.name] = (v.format as (value: unknown, c: EnvCodec) => string)(
          (input as Record<string, unknown>)[key],
          codec,
        );
      }
      return out;
    },
    fromEnvironment(env) {
      const out: Record<string, unknown> = {};
      for (const [key, v] of Object.entries(spec)) {
        const raw = env[v.name];
        if (raw === undefined || raw === '') throw new ConfigError(v.name, 'is required but not set');
        const parsed = v.schema.safeParse(raw);
        if (!parsed.success) {
          const issue = parsed.error.issues[0];
          const where = issue?.path.length ? ` (at ${issue.path.join('.')})` : '';
          // JSON-quoted and cut short, so the message stays one readable line.
          const shown = JSON.stringify(raw.length > 160 ? `${raw.slice(0, 160)}…` : raw);
          throw new ConfigError(v.name, `${issue?.message ?? 'is invalid'}${where}, got ${shown}`);
        }
        out[key] = parsed.data;
      }
      return out as ConfigOf<S>;
    },
  };
}
