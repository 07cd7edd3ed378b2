import { describe, expect, it } from 'vitest';
import * as consumerConfig from '../../lambda/consumer/config';
import * as sweeperConfig from '../../lambda/dlq-sweeper/config';
import * as producerConfig from '../../lambda/producer/config';
import { STAGE_NAMES } from '../../app/stages';
import { synthStage } from '../helpers/synth';

/** Variables `PipelineFunction` sets on every function, outside the functions' own contracts. */
const COMMON = ['POWERTOOLS_METRICS_NAMESPACE', 'POWERTOOLS_SERVICE_NAME'];

/** Each function (by Powertools service name) and the variables its config contract reads. */
const CONTRACTS: [string, readonly string[]][] = [
  ['producer', producerConfig.variables],
  ['consumer', consumerConfig.variables],
  ['fifo-consumer', consumerConfig.variables],
  ['dlq-sweeper', sweeperConfig.variables],
];

describe.each(STAGE_NAMES)('function environments (%s)', (stage) => {
  it.each(CONTRACTS)('%s gets exactly the variables its config contract reads', (service, names) => {
    const fns = Object.values(synthStage(stage).findResources('AWS::Lambda::Function')).filter(
      (r) => r.Properties?.Environment?.Variables?.POWERTOOLS_SERVICE_NAME === service,
    );

    expect(fns, `one function of service ${service}`).toHaveLength(1);
    expect(Object.keys(fns[0]!.Properties.Environment.Variables as object).sort()).toEqual(
      [...COMMON, ...names].sort(),
    );
  });
});

describe('producer probe limits', () => {
  it('gives the prod producer the stage probe limits: no sender (probes off), failures below the attempt budget', () => {
    const [producer] = Object.values(synthStage('prod').findResources('AWS::Lambda::Function')).filter(
      (r) => r.Properties?.Environment?.Variables?.POWERTOOLS_SERVICE_NAME === 'producer',
    );
    const env = producer!.Properties.Environment.Variables as Record<string, string>;

    expect(producerConfig.fromEnvironment(env).probePolicy).toEqual({
      senders: [],
      maxFailTimes: 2,
      maxSleepMs: 10_000,
      maxFailUntilSeconds: 60,
    });
  });
});
