import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';

/** The structured JSON logger every function uses (service name from POWERTOOLS_SERVICE_NAME). */
export function createLogger(serviceName: string): Logger {
  return new Logger({ serviceName });
}

/**
 * EMF metrics. Powertools reads the namespace from POWERTOOLS_METRICS_NAMESPACE, which
 * `PipelineFunction` sets on every function.
 */
export function createMetrics(serviceName: string): Metrics {
  return new Metrics({ serviceName });
}
