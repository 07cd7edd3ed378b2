import { App } from 'aws-cdk-lib';
import { JOB_MODULES } from '../../app/event-pipeline-stack';
import { loadStageConfig } from '../../app/stages';
import { writeLaneEntry, writeProducerEntry } from '../../lib/bundling/entries';
import { buildCatalog, typesOfLane } from '../../lib/bundling/job-catalog';
import { resolveLanes } from '../../lib/config/lanes';

/** This repository's app: its settings' lanes and its job catalog, as a synth reads them. */
function appCatalog() {
  const lanes = resolveLanes(loadStageConfig('local'));
  return { lanes, catalog: buildCatalog(new App(), JOB_MODULES, lanes, true) };
}

/**
 * The generated entry point of a default lane's consumer, written the way a synth of this
 * repository's app writes it: import it to get the deployed `handler`.
 */
export function laneEntry(lane: 'standard' | 'fifo'): string {
  const { lanes, catalog } = appCatalog();
  const resolved = lanes.find((l) => l.name === lane)!;
  return writeLaneEntry(
    resolved,
    typesOfLane(catalog, resolved),
    lane === 'fifo' ? 'fifo-consumer' : 'consumer',
    catalog,
    lanes,
  );
}

/** The producer's generated entry point for this repository's app. */
export function producerEntry(): string {
  const { lanes, catalog } = appCatalog();
  return writeProducerEntry(catalog, lanes);
}
