/**
 * Synthesizes the pipeline stack for a stage the way `bin/app.ts` does, minus esbuild: the
 * `aws:cdk:bundling-stacks: []` context makes every NodejsFunction a placeholder asset, so one
 * synth takes tens of milliseconds instead of seconds. Feature flags are read from cdk.json so the
 * tests synthesize with exactly the flags `cdk synth` uses.
 *
 * The template helpers (`synthStage`, `synthConfig`) also switch off CDK's built-in CloudFormation
 * validation plugin, which only reports and costs seconds of CPU per process; test/infra/nag.test.ts
 * synthesizes with it (and with cdk-nag) exactly as bin/app.ts does, and fails on its findings.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, type AppProps } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { loadStageConfig } from '../../app/stages';
import type { StageConfig } from '../../lib/config/types';
import type { StageName } from '../../app/stages';
import { EventPipelineStack } from '../../app/event-pipeline-stack';

/** Repository root. */
export const ROOT = join(__dirname, '..', '..');

/** The `context` block of cdk.json: the feature flags every synth runs with. */
export const CDK_JSON_CONTEXT: Readonly<Record<string, unknown>> = (
  JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> }
).context;

/** Context that skips asset bundling (no esbuild) on top of cdk.json's feature flags. */
export const TEST_CONTEXT: Readonly<Record<string, unknown>> = {
  ...CDK_JSON_CONTEXT,
  'aws:cdk:bundling-stacks': [],
};

/** Props of an App whose template is asserted on, not validated (see the module comment). */
const TEMPLATE_ONLY: AppProps = { builtinCloudFormationValidation: false };

/** A new App with the test context; `props` may add an outdir or more context. */
export function testApp(props: AppProps = {}): App {
  return new App({ ...props, context: { ...TEST_CONTEXT, ...props.context } });
}

/** An app holding one {@link EventPipelineStack} for `config`, named like bin/app.ts names it. */
export function buildStack(
  config: StageConfig,
  app: App = testApp(),
): { app: App; stack: EventPipelineStack } {
  const stack = new EventPipelineStack(app, `EventPipeline-${config.stage}`, { config });
  return { app, stack };
}

const cache = new Map<StageName, Template>();

/**
 * The synthesized template of a stage (default config, no alarm email), cached per stage: treat it
 * as read-only.
 */
export function synthStage(stage: StageName): Template {
  let template = cache.get(stage);
  if (!template) {
    template = Template.fromStack(buildStack(loadStageConfig(stage), testApp(TEMPLATE_ONLY)).stack);
    cache.set(stage, template);
  }
  return template;
}

/** The template of a stage built from a config that is not the default one (not cached). */
export function synthConfig(config: StageConfig): Template {
  return Template.fromStack(buildStack(config, testApp(TEMPLATE_ONLY)).stack);
}
