/**
 * The fixture app with custom lanes (test/fixtures/lanes-app) as the tests build it: in process
 * with {@link testApp}'s context (no esbuild) for template assertions, or synthesized through the
 * CDK CLI in its own folder for local mode. Plus the logical ids of a lane's resources.
 */
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Stack, type App, type CfnElement } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { EventPipeline, type EventPipelineProps, type Lane } from 'event-pipeline';
import { JOB_MODULES, LANES, LanesStack, settingsOf } from '../fixtures/lanes-app/lanes-stack';
import { ROOT, testApp } from './synth';

/** The fixture app's folder (its cdk.json runs `bin/app.ts` with tsx). */
export const LANES_APP_DIR = path.join(ROOT, 'test', 'fixtures', 'lanes-app');

/**
 * Where test/local/lanes.e2e.test.ts synthesizes the fixture app: its own directory at the top
 * of the repository (inside the project, where the sandboxes resolve the SDK; ignored by git,
 * eslint and prettier like every `cdk.out*`).
 */
export const LANES_CDK_OUT = path.join(ROOT, 'cdk.out.lanes-test');

/** The fixture app's stack for `stage`, built in process (template assertions only). */
export function buildLanesStack(
  stage: string,
  app: App = testApp({ builtinCloudFormationValidation: false }),
): { app: App; stack: LanesStack; pipeline: EventPipeline } {
  const stack = new LanesStack(app, `EventPipeline-${stage}`, { stage });
  return { app, stack, pipeline: stack.pipeline };
}

/**
 * An `EventPipeline` of the fixture's jobs and lanes (stage dev) with some props replaced, in a
 * stack of its own: for the misconfigurations the construct must refuse.
 */
export function buildPipelineWith(props: Partial<EventPipelineProps>): EventPipeline {
  const stack = new Stack(testApp({ builtinCloudFormationValidation: false }), 'EventPipeline-dev');
  return new EventPipeline(stack, 'Default', {
    stage: 'dev',
    jobs: JOB_MODULES,
    lanes: LANES,
    settings: settingsOf('dev'),
    ...props,
  });
}

/** The final logical id of a construct's CloudFormation resource (overrides applied). */
export function logicalIdOf(construct: IConstruct): string {
  const element = (construct.node.defaultChild ?? construct) as CfnElement;
  return Stack.of(element).resolve(element.logicalId) as string;
}

/** Logical ids of a lane's resources. */
export interface LaneIds {
  readonly queue: string;
  readonly dlq: string;
  readonly alarm: string;
  readonly consumer: string;
  readonly role: string;
}

/** The logical ids of `lane`'s queue, DLQ, DLQ depth alarm, consumer function and its role. */
export function laneIds(lane: Lane): LaneIds {
  return {
    queue: logicalIdOf(lane.queue.queue),
    dlq: logicalIdOf(lane.queue.deadLetterQueue),
    alarm: logicalIdOf(lane.queue.dlqDepthAlarm),
    consumer: logicalIdOf(lane.consumer),
    role: logicalIdOf(lane.consumer.role!),
  };
}

/** A lane as a synthesized template shows it: its consumer's logical id and what it reads. */
export interface TemplateLane {
  /** Logical id of the lane's consumer function (the `function` of its journal records). */
  readonly consumer: string;
  /** Logical ids of the lane's queue and DLQ (keys of local mode's `env.queues`). */
  readonly queue: string;
  readonly dlq: string;
  /** The consumer's bundled code (`index.mjs` of its asset), when the assembly holds it. */
  readonly bundle?: string;
}

/**
 * The lanes of a cloud assembly's `EventPipeline-<stage>` template, by name: every function with
 * a `LANE` variable is a lane's consumer, and its `QUEUE_URL` / `DLQ_URL` name the lane's queues.
 */
export function lanesOfAssembly(cdkOut: string, stage = 'local'): Record<string, TemplateLane> {
  type Fn = {
    Type: string;
    Properties?: { Environment?: { Variables?: Record<string, unknown> } };
    Metadata?: Record<string, unknown>;
  };
  const template = JSON.parse(
    readFileSync(path.join(cdkOut, `EventPipeline-${stage}.template.json`), 'utf8'),
  ) as { Resources: Record<string, Fn> };
  const out: Record<string, TemplateLane> = {};
  for (const [id, r] of Object.entries(template.Resources)) {
    const env = r.Properties?.Environment?.Variables ?? {};
    if (r.Type !== 'AWS::Lambda::Function' || typeof env.LANE !== 'string') continue;
    const asset = r.Metadata?.['aws:asset:path'];
    const bundle = typeof asset === 'string' ? path.join(cdkOut, asset, 'index.mjs') : undefined;
    out[env.LANE] = {
      consumer: id,
      queue: (env.QUEUE_URL as { Ref: string }).Ref,
      dlq: (env.DLQ_URL as { Ref: string }).Ref,
      ...(bundle && existsSync(bundle) ? { bundle: readFileSync(bundle, 'utf8') } : {}),
    };
  }
  return out;
}
