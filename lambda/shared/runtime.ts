import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { mapStacksWhenRead } from './stack-map';

/**
 * The structured JSON logger every function uses (service name from POWERTOOLS_SERVICE_NAME).
 * Every function makes one at init, so this is also where its stacks start naming the TypeScript
 * sources when they are read (`./stack-map.ts`: the bundle's map is decoded on the first stack
 * read, not at every cold start as `--enable-source-maps` did).
 */
export function createLogger(serviceName: string): Logger {
  mapStacksWhenRead();
  return new Logger({ serviceName });
}

/**
 * EMF metrics. Powertools reads the namespace from POWERTOOLS_METRICS_NAMESPACE, which
 * `PipelineFunction` sets on every function.
 */
export function createMetrics(serviceName: string): Metrics {
  return new Metrics({ serviceName });
}
