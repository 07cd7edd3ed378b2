import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { jobTypesFileName, type JobTypesFile } from '../../lib/bundling/job-types';
import { LocalModeError } from '../errors';

/** One resource of a synthesized CloudFormation template. */
export interface TemplateResource {
  readonly logicalId: string;
  readonly type: string;
  readonly properties: Readonly<Record<string, unknown>>;
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly dependsOn: readonly string[];
  /** The `Condition` the resource is created under, if any. */
  readonly condition?: string;
  /** The stack whose template holds the resource. */
  readonly stackName: string;
}

/** A template parameter (only `Type` and `Default` matter locally). */
export interface TemplateParameter {
  readonly Type?: string;
  readonly Default?: unknown;
}

/** Every template of a stage, with resources indexed by logical id. */
export interface StageTemplate {
  /** Absolute path of the cloud assembly directory. */
  readonly cdkOut: string;
  readonly resources: ReadonlyMap<string, TemplateResource>;
  readonly parameters: ReadonlyMap<string, TemplateParameter>;
  /** The region the stack was synthesized for, when it is not environment-agnostic. */
  readonly region?: string;
}

interface ManifestArtifact {
  readonly type?: string;
  readonly environment?: string;
  readonly displayName?: string;
  readonly properties?: {
    readonly templateFile?: string;
    readonly stackName?: string;
    readonly directoryName?: string;
  };
}

function readJson(file: string, what: string): Record<string, unknown> {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (error) {
    throw new LocalModeError(`cannot read ${what} ${file}: ${(error as Error).message}`, { cause: error });
  }
}

/** Stack artifacts of a cloud assembly, including those of nested assemblies (CDK `Stage`s). */
export function stackArtifacts(
  dir: string,
): { artifactId: string; artifact: ManifestArtifact; dir: string }[] {
  const manifest = readJson(path.join(dir, 'manifest.json'), 'cloud assembly manifest');
  const artifacts = (manifest.artifacts ?? {}) as Record<string, ManifestArtifact>;
  const out: { artifactId: string; artifact: ManifestArtifact; dir: string }[] = [];
  for (const [artifactId, artifact] of Object.entries(artifacts)) {
    if (artifact.type === 'aws:cloudformation:stack') out.push({ artifactId, artifact, dir });
    else if (artifact.type === 'cdk:cloud-assembly' && artifact.properties?.directoryName) {
      out.push(...stackArtifacts(path.join(dir, artifact.properties.directoryName)));
    }
  }
  return out;
}

/**
 * Reads the templates of stack `stackName` from a cloud assembly (`cdk.out`). The assembly's
 * `manifest.json` says which template belongs to the stack, so a `cdk.out` that also holds other
 * stages' templates is fine; a manifest that does not list the stack (e.g. the last synth was for
 * another stage) is an error that says how to fix it.
 *
 * @example
 * const stage = readStageTemplate('cdk.out', 'EventPipeline-local');
 * stage.resources.get('StandardQueue')?.type; // 'AWS::SQS::Queue'
 */
export function readStageTemplate(cdkOut: string, stackName: string): StageTemplate {
  const dir = path.resolve(cdkOut);
  if (!existsSync(path.join(dir, 'manifest.json'))) {
    throw new LocalModeError(
      `${dir} holds no cloud assembly (manifest.json); synthesize first (npm start does it)`,
    );
  }
  const matches = stackArtifacts(dir).filter(
    ({ artifactId, artifact }) => (artifact.properties?.stackName ?? artifactId) === stackName,
  );
  if (matches.length === 0) {
    throw new LocalModeError(
      `the cloud assembly in ${dir} has no stack ${stackName}; synthesize that stage (cdk synth -c stage=…) first`,
    );
  }
  const resources = new Map<string, TemplateResource>();
  const parameters = new Map<string, TemplateParameter>();
  let region: string | undefined;
  for (const { artifact, dir: assemblyDir, artifactId } of matches) {
    const templateFile = path.join(
      assemblyDir,
      artifact.properties?.templateFile ?? `${artifactId}.template.json`,
    );
    const template = readJson(templateFile, 'template');
    const envRegion = artifact.environment?.split('/').pop();
    if (envRegion && envRegion !== 'unknown-region') region ??= envRegion;
    for (const [name, p] of Object.entries(
      (template.Parameters ?? {}) as Record<string, TemplateParameter>,
    )) {
      parameters.set(name, p);
    }
    for (const [logicalId, raw] of Object.entries(
      (template.Resources ?? {}) as Record<string, Record<string, unknown>>,
    )) {
      if (resources.has(logicalId)) {
        throw new LocalModeError(`logical id ${logicalId} appears in more than one template of ${stackName}`);
      }
      const dependsOn = raw.DependsOn;
      resources.set(logicalId, {
        logicalId,
        type: String(raw.Type),
        properties: (raw.Properties ?? {}) as Record<string, unknown>,
        metadata: (raw.Metadata ?? {}) as Record<string, unknown>,
        dependsOn: Array.isArray(dependsOn) ? dependsOn.map(String) : dependsOn ? [String(dependsOn)] : [],
        condition: typeof raw.Condition === 'string' ? raw.Condition : undefined,
        stackName,
      });
    }
  }
  return { cdkOut: dir, resources, parameters, region };
}

/**
 * The job types stack `stackName` accepts, from `<artifactId>.job-types.json` beside its template
 * (written at synth by `lib/bundling/job-types-file.ts`); `null` when the assembly has none (an
 * assembly synthesized before it existed, or an app that does not use the pipeline construct).
 */
export function readJobTypes(cdkOut: string, stackName: string): JobTypesFile | null {
  for (const { artifactId, artifact, dir } of stackArtifacts(path.resolve(cdkOut))) {
    if ((artifact.properties?.stackName ?? artifactId) !== stackName) continue;
    const file = path.join(dir, jobTypesFileName(artifactId));
    if (existsSync(file)) return readJson(file, 'job types') as unknown as JobTypesFile;
  }
  return null;
}
