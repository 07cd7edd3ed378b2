import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  type Message,
} from '@aws-sdk/client-sqs';
import { DlqWalker, HOLD_SECONDS, idsOfCopy, queueDepth } from './dlq';
import { awsFailure, type QueuePair, type Target } from './target';

/** Seconds each long poll of the probe's DLQ waits for a message. */
export const CATCH_WAIT_SECONDS = 2;

/** What smoke knows of its `fail-permanent` probe: its ids from the 202. */
export interface ProbeIds {
  readonly messageId: string;
  readonly envelopeId?: string;
}

/**
 * Takes the `fail-permanent` probe of a smoke run out of its lane's DLQ, so the run leaves
 * nothing there that raises the DLQ depth alarm. It touches no other message for longer than it
 * must, and deletes the probe only (by its receipt handle).
 *
 * When the DLQ is empty as the probe is accepted, it waits for the probe there with long polls
 * ({@link CATCH_WAIT_SECONDS}): SQS hands a message to a waiting receive as it arrives, so the
 * probe is received (and out of `ApproximateNumberOfMessagesVisible`) at once, and held
 * ({@link HOLD_SECONDS}) until smoke has checked it and deletes it. What remains is the gap
 * between two long polls, a few milliseconds every {@link CATCH_WAIT_SECONDS}: a probe that
 * arrives in it is visible until the next poll.
 *
 * Any other message it receives there is a real failure, for which the alarm is right: it stops
 * waiting, makes what it holds visible again, and later finds the probe with one pass over the
 * DLQ ({@link DlqWalker}, as `dlq list` reads it), as it does when the DLQ held messages from the
 * start (the alarm is raised by those anyway).
 */
export class ProbeCatcher {
  private probe: Message | undefined;
  /** Whether a long poll received the probe as it arrived (else a pass over the DLQ found it). */
  caughtOnArrival = false;
  private readonly others: Message[] = [];
  private waiting = false;
  private stopped = false;
  private loop: Promise<void> | undefined;
  private error: unknown;

  constructor(
    private readonly target: Target,
    readonly pair: QueuePair,
    private readonly ids: ProbeIds,
  ) {}

  /**
   * Starts waiting for the probe (long polls) when the DLQ is empty now; else (or when its depth
   * cannot be read now) it is found later, in the DLQ.
   */
  async start(): Promise<void> {
    const d = await queueDepth(this.target, this.pair.dlq.url).catch(() => undefined);
    if (!d || d.visible + d.inFlight + d.delayed > 0) return;
    this.waiting = true;
    this.loop = this.wait().catch((error: unknown) => {
      this.error = error;
      this.waiting = false;
    });
  }

  private isProbe(m: Message): boolean {
    const ids = idsOfCopy(m);
    return ids.includes(this.ids.messageId) || (!!this.ids.envelopeId && ids.includes(this.ids.envelopeId));
  }

  private async wait(): Promise<void> {
    while (this.waiting && !this.stopped && !this.probe) {
      const out = await this.target.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: this.pair.dlq.url,
          MaxNumberOfMessages: 10,
          VisibilityTimeout: HOLD_SECONDS,
          WaitTimeSeconds: CATCH_WAIT_SECONDS,
          MessageSystemAttributeNames: ['All'],
          MessageAttributeNames: ['All'],
        }),
      );
      for (const m of out.Messages ?? []) {
        if (!this.probe && this.isProbe(m)) {
          this.probe = m;
          this.caughtOnArrival = true;
        } else this.others.push(m);
      }
      if (this.others.length) {
        // A real failure arrived: the alarm is right to see it.
        this.waiting = false;
        await this.releaseOthers();
      }
    }
  }

  private async releaseOthers(): Promise<void> {
    const held = this.others.splice(0);
    for (let i = 0; i < held.length; i += 10) {
      await this.target.sqs
        .send(
          new ChangeMessageVisibilityBatchCommand({
            QueueUrl: this.pair.dlq.url,
            Entries: held
              .slice(i, i + 10)
              .map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0 })),
          }),
        )
        // They reappear after HOLD_SECONDS anyway.
        .catch(() => undefined);
    }
  }

  /** One pass over the DLQ: holds the probe if it is there, makes the rest visible again at once. */
  private async findOnce(): Promise<void> {
    const walker = new DlqWalker(this.target, this.pair);
    try {
      for (let round = await walker.next(); round && !this.probe; round = await walker.next()) {
        const m = round.find((x) => this.isProbe(x));
        if (m) {
          this.probe = m;
          walker.gone(m); // held by this catcher now, not released with the rest
        }
      }
    } finally {
      await walker.release();
    }
  }

  /**
   * Deletes the probe from the DLQ (only that message, by its receipt handle) once it is there,
   * waiting for it until `deadline` (epoch ms). Throws a one-line error when it could not.
   */
  async remove(deadline: number, pollMs = 250): Promise<void> {
    while (!this.probe) {
      if (this.error) throw awsFailure(`cannot receive from ${this.pair.dlq.name}`, this.error);
      if (Date.now() > deadline)
        throw new Error(
          `not found in ${this.pair.dlq.name} (held by another reader, or not dead-lettered yet)`,
        );
      if (!this.waiting) await this.findOnce();
      if (!this.probe) await new Promise((r) => setTimeout(r, pollMs));
    }
    this.waiting = false;
    try {
      await this.target.sqs.send(
        new DeleteMessageCommand({ QueueUrl: this.pair.dlq.url, ReceiptHandle: this.probe.ReceiptHandle }),
      );
    } catch (error) {
      throw awsFailure(`cannot delete it from ${this.pair.dlq.name}`, error);
    }
    this.probe = undefined;
  }

  /** Stops waiting; makes visible again whatever it still holds (the probe too, if not deleted). */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
    if (this.probe) this.others.push(this.probe);
    this.probe = undefined;
    await this.releaseOthers();
  }
}
