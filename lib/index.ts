/**
 * `event-pipeline`: the construct an app installs. Everything exported here is the package's
 * public surface (docs/DESIGN.md §9, CHANGELOG.md); the rest of `lib/` is internal.
 *
 * @example
 * import { EventPipeline } from 'event-pipeline';
 * new EventPipeline(stack, 'Default', { stage: 'dev', jobs: [path.join(__dirname, '../jobs/x.ts')] });
 */
export {
  EventPipeline,
  LANE_TAG,
  LOGICAL_IDS,
  type EventPipelineProps,
  type Lane,
} from './constructs/event-pipeline';
export { CompletionEvents, type CompletionEventsProps } from './constructs/completion-events';
export { ResultBucket, type ResultBucketProps } from './constructs/result-bucket';
export {
  COMPLETION_DETAIL_TYPES,
  COMPLETION_EVENT_SOURCE,
  type CompletionDetail,
} from '../lambda/shared/events/completion';
export { DEFAULT_FIFO_LANE, DEFAULT_STANDARD_LANE, type LaneProps, type ResolvedLane } from './config/lanes';
export { DEFAULTS } from './config/defaults';
export { ConfigError } from './config/errors';
export { resolveSettings } from './config/settings';
export { AUTH_MODES, JWT_ALGORITHMS } from './config/types';
export type {
  AuthMode,
  AuthSettings,
  CompletionEventSettings,
  ConsumerSettings,
  JwtAlgorithm,
  JwtSettings,
  PipelineSettings,
  PipelineSettingsInput,
  ProbeSettings,
  StageConfig,
  WebhookSettings,
} from './config/types';
export { API_GATEWAY_ACCOUNT_STACK, ApiGatewayAccountStack } from './stacks/api-gateway-account-stack';
export { PROBE_MODES, type ProbeMode } from '../lambda/shared/jobs/probe';
/** cdk-nag's AWS Solutions rules, which the pipeline passes (re-exported so an app needs no other dependency). */
export { AwsSolutionsChecks } from 'cdk-nag';
