// The job types file beside a stack's template (no CDK import: local mode reads it).

/** One job type the stage's API accepts, as the file next to its template lists it. */
export interface JobTypeDescription {
  readonly type: string;
  readonly description: string;
  readonly ordered: boolean;
  /** The lane that runs it. */
  readonly lane: string;
  /** The payload's JSON Schema (draft-07, input side): the one the producer's validator is compiled from. */
  readonly schema: Record<string, unknown>;
}

/** The file's contents: `{ version: 1, types }`. */
export interface JobTypesFile {
  readonly version: 1;
  readonly types: readonly JobTypeDescription[];
}

/** The file's name in the cloud assembly, next to `<artifactId>.template.json`. */
export const jobTypesFileName = (artifactId: string): string => `${artifactId}.job-types.json`;
