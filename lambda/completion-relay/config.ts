import { defineEnvironment, text, type ConfigOf, type EnvironmentInput } from '../shared/env-contract';

/**
 * The completion relay's environment contract: `CompletionEvents` writes it with
 * {@link toEnvironment}, the entry point reads it with {@link fromEnvironment}.
 */
const contract = defineEnvironment({
  /** The stage's event bus, where completion events go. */
  eventBusName: text('EVENT_BUS_NAME'),
});

/** The parsed configuration (`fromEnvironment`). */
export type RelayConfig = ConfigOf<typeof contract>;
/** What `CompletionEvents` gives `toEnvironment`. */
export type RelayEnvironmentInput = EnvironmentInput<typeof contract>;

/**
 * `toEnvironment(input)`: the variables for the construct; `fromEnvironment(env)`: parses them at
 * cold start, throwing `ConfigError` naming the variable; `variables`: their names.
 */
export const { toEnvironment, fromEnvironment, variables } = contract;
