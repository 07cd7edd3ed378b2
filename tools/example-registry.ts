/**
 * The reference app's job types (`app/jobs/`) plus the package's built-in `probe`, in one
 * registry: what the default lanes of this repository's app run. Tests, benches and
 * `npm run schema` use it; the deployed functions get their registries from the lanes' generated
 * entry points instead.
 */
import activityRecorded from '../app/jobs/activity-recorded';
import emailSend from '../app/jobs/email-send';
import reportGenerate from '../app/jobs/report-generate';
import { probeJob } from '../lambda/shared/jobs/probe';
import { JobRegistry } from '../lambda/shared/jobs/registry';
import type { JobDefinition } from '../lambda/shared/jobs/types';

/** The job types of this repository's app. */
export const defaultRegistry = new JobRegistry([
  emailSend as unknown as JobDefinition,
  reportGenerate as unknown as JobDefinition,
  activityRecorded as unknown as JobDefinition,
  probeJob as unknown as JobDefinition,
]);
