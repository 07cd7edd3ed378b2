import { Duration, Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import { Construct } from 'constructs';
import { FUNCTION_DEFAULTS } from '../config/defaults';
import { toEnvironment as sweeperEnvironment } from '../../lambda/dlq-sweeper/config';
import type { SweptQueue } from '../../lambda/shared/sweeper';
import type { FailureArchive } from './failure-archive';
import { PipelineFunction } from './pipeline-function';
import type { QueueWithDlq } from './queue-with-dlq';
import type { StatusTable } from './status-table';

/** Props of {@link DlqSweeper}. */
export interface DlqSweeperProps {
  /** Queues whose DLQs are swept (required). */
  readonly queues: readonly QueueWithDlq[];
  /** Archive the sweeper checks and writes records in (required). */
  readonly archive: FailureArchive;
  /** Interval of the schedule (required). */
  readonly every: Duration;
  /** Retention of the function's log group, in days (required). */
  readonly logRetentionDays: number;
  /** Keep the function's log group when the stack is deleted. @default false */
  readonly retainLogs?: boolean;
  /** X-Ray active tracing on the function. @default false */
  readonly tracing?: boolean;
  /** The status table, where swept messages are marked failed (required). */
  readonly statusTable: StatusTable;
  /** Days a status row is kept after its last change (required). */
  readonly statusRetentionDays: number;
}

/**
 * A scheduled function that archives DLQ messages that arrived without an archive record
 * (crashes, timeouts, failed archive writes). It reads and releases; it never deletes.
 */
export class DlqSweeper extends Construct {
  public readonly function: PipelineFunction;
  public readonly rule: events.Rule;

  constructor(scope: Construct, id: string, props: DlqSweeperProps) {
    super(scope, id);
    const swept: SweptQueue[] = props.queues.map((q) => ({
      dlqUrl: q.deadLetterQueue.queueUrl,
      sourceQueueName: q.queue.queueName,
      sourceQueueArn: q.queue.queueArn,
    }));
    this.function = new PipelineFunction(this, 'Handler', {
      handlerDir: 'dlq-sweeper',
      serviceName: 'dlq-sweeper',
      description: 'Archives DLQ messages that have no failure archive record yet',
      timeout: Duration.seconds(FUNCTION_DEFAULTS.sweeperTimeoutSeconds),
      logRetentionDays: props.logRetentionDays,
      retainLogs: props.retainLogs ?? false,
      ...(props.tracing === undefined ? {} : { tracing: props.tracing }),
      environment: sweeperEnvironment(
        {
          archiveBucket: props.archive.bucket.bucketName,
          sweptQueues: swept,
          statusTable: props.statusTable.table.tableName,
          statusRetentionDays: props.statusRetentionDays,
        },
        { json: (value) => Stack.of(this).toJsonString(value) },
      ),
    });
    for (const q of props.queues) {
      q.deadLetterQueue.grant(this.function.fn, 'sqs:ReceiveMessage', 'sqs:ChangeMessageVisibility');
    }
    props.archive.grantWriteRecords(this.function.fn);
    props.archive.grantCheckRecords(this.function.fn);
    props.statusTable.grantSweeper(this.function.fn);
    this.rule = new events.Rule(this, 'Schedule', {
      description: 'Runs the DLQ sweeper',
      schedule: events.Schedule.rate(props.every),
      targets: [new targets.LambdaFunction(this.function.fn, { retryAttempts: 2 })],
    });
  }
}
