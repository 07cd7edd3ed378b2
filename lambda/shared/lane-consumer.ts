import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { fromEnvironment } from '../consumer/config';
import { fifoProcessing } from './consumer/fifo-processor';
import { standardProcessing } from './consumer/standard-processor';
import { createConsumerHandler, type AppCatalog } from './consumer-runtime';
import { probeJob } from './jobs/probe';
import { JobRegistry } from './jobs/registry';
import { jobsOfModule, type JobDefinition } from './jobs/types';

/** What a lane's generated entry point (`lib/bundling/entries.ts`) gives {@link laneConsumerHandler}. */
export interface LaneConsumerOptions {
  /** Powertools service name of the lane's consumer. */
  readonly serviceName: string;
  /** FIFO lane: records run one by one, a failure holds back only its own group's later records. */
  readonly fifo: boolean;
  /** The job types this lane runs (decided at synth: `typesOfLane` in `lib/bundling/job-catalog.ts`). */
  readonly types: readonly string[];
  /** The app's job modules that define them, as `[file, module namespace]`. */
  readonly modules: readonly (readonly [string, unknown])[];
  /** Every job type of the app, for `ctx.enqueue`. @default `ctx.enqueue` throws */
  readonly catalog?: AppCatalog;
}

/** The registry of a lane: exactly its types, from its modules and the package's built-in `probe`. */
export function laneRegistry(options: Pick<LaneConsumerOptions, 'types' | 'modules'>): JobRegistry {
  const defs = new Map<string, JobDefinition>([['probe', probeJob as unknown as JobDefinition]]);
  for (const [file, exports] of options.modules)
    for (const def of jobsOfModule(exports, file)) defs.set(def.type, def);
  return new JobRegistry(
    options.types.map((type) => {
      const def = defs.get(type);
      if (!def) throw new Error(`job type ${type} is not defined by this lane's modules`);
      return def;
    }),
  );
}

/**
 * The Lambda handler of a lane's consumer: standard lanes run records in parallel and report
 * only the failed ones (`./consumer/standard-processor.ts`); FIFO lanes run them one by one and
 * hold back only the later records of a failing group (`./consumer/fifo-processor.ts`).
 */
export function laneConsumerHandler(
  options: LaneConsumerOptions,
): (event: SQSEvent, context: Context) => Promise<SQSBatchResponse> {
  return createConsumerHandler(
    options.serviceName,
    fromEnvironment(process.env),
    options.fifo ? fifoProcessing() : standardProcessing(),
    laneRegistry(options),
    options.catalog,
  );
}
