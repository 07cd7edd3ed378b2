import * as path from 'node:path';
import { Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { EventPipeline, type PipelineSettings } from 'event-pipeline';

/** The job modules of this app (each exports its job type made with `defineJob`). */
export const JOB_MODULES: readonly string[] = ['email-send', 'report-generate', 'activity-recorded'].map(
  (m) => path.join(__dirname, 'jobs', `${m}.ts`),
);

/** Props of {@link EventPipelineStack}. */
export interface EventPipelineStackProps extends StackProps {
  /** The stage's resolved settings (`loadStageConfig`). */
  readonly config: PipelineSettings;
}

/**
 * One stage of this repository's own app: the package's `EventPipeline` with the example jobs in
 * the default lanes. The construct's id is `Default`, so every logical id is the one the stack
 * had before the construct existed and a deployed stage updates in place.
 */
export class EventPipelineStack extends Stack {
  public readonly pipeline: EventPipeline;

  constructor(scope: Construct, id: string, props: EventPipelineStackProps) {
    super(scope, id, props);
    this.pipeline = new EventPipeline(this, 'Default', {
      stage: props.config.stage,
      jobs: JOB_MODULES,
      settings: props.config,
    });
  }
}
