import { ConfigError } from './errors';

/**
 * A value that does not parse: `message` says what it must be, `at` where inside it (a list
 * index, a JSON path), for the one-line {@link ConfigError}.
 */
export class EnvValueError extends Error {
  constructor(
    message: string,
    readonly at?: string,
  ) {
    super(message);
    this.name = 'EnvValueError';
  }
}

/**
 * One environment variable of a function's configuration contract: its name (written only here),
 * how its text is parsed at cold start (throwing {@link EnvValueError}), and how the construct's
 * value is written. No schema library: the producer's bundle carries none (docs/DESIGN.md §9).
 */
export interface EnvVar<T, In> {
  readonly name: string;
  readonly parse: (raw: string) => T;
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
  return { name, parse: (raw) => raw, format: (v) => v };
}

/** A required integer variable. */
export function integer(name: string): EnvVar<number, number> {
  return {
    name,
    parse(raw) {
      const n = Number(raw);
      if (!Number.isInteger(n) || raw.trim() === '') throw new EnvValueError('must be an integer');
      return n;
    },
    format: (v) => String(v),
  };
}

/** A comma-separated list of values from `allowed`; an unknown value is an error. */
export function oneOfList<T extends string>(name: string, allowed: readonly T[]): EnvVar<T[], readonly T[]> {
  return {
    name,
    parse(raw) {
      const list = raw.split(',').map((m) => m.trim());
      list.forEach((m, i) => {
        if (!(allowed as readonly string[]).includes(m))
          throw new EnvValueError(`must list only ${allowed.join(', ')}`, String(i));
      });
      return list as T[];
    },
    format: (v) => v.join(','),
  };
}

/** One value from `allowed`; anything else is an error. */
export function oneOf<T extends string>(name: string, allowed: readonly T[]): EnvVar<T, T> {
  return {
    name,
    parse(raw) {
      if (!(allowed as readonly string[]).includes(raw))
        throw new EnvValueError(`must be one of ${allowed.join(', ')}`);
      return raw as T;
    },
    format: (v) => v,
  };
}

/**
 * A JSON-encoded value, checked by `check` (which returns the value, or throws
 * {@link EnvValueError} saying what it must be).
 */
export function json<T>(name: string, check: (value: unknown) => T): EnvVar<T, T> {
  return {
    name,
    parse(raw) {
      let value: unknown;
      try {
        value = JSON.parse(raw) as unknown;
      } catch {
        throw new EnvValueError('must be JSON');
      }
      return check(value);
    },
    format: (v, codec) => (codec.json ?? JSON.stringify)(v),
  };
}

/** A check for {@link json}: an object whose values are all non-empty strings. */
export function stringRecord(value: unknown): Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new EnvValueError('must be a JSON object of strings');
  for (const [k, v] of Object.entries(value))
    if (typeof v !== 'string' || v === '') throw new EnvValueError('must be a non-empty string', k);
  return value as Record<string, string>;
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
        try {
          out[key] = v.parse(raw);
        } catch (error) {
          if (!(error instanceof EnvValueError)) throw error;
          const where = error.at ? ` (at ${error.at})` : '';
          // JSON-quoted and cut short, so the message stays one readable line.
          const shown = JSON.stringify(raw.length > 160 ? `${raw.slice(0, 160)}…` : raw);
          throw new ConfigError(v.name, `${error.message}${where}, got ${shown}`);
        }
      }
      return out as ConfigOf<S>;
    },
  };
}
