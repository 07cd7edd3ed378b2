import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import type { StatusStore } from './types';

/**
 * Wraps a {@link StatusStore} so that a failed status write never decides a message's fate: the
 * error is logged (`status write failed`) and counted (metric `statusWriteFailed`), and the write
 * resolves. The row catches up with the next transition (each write sets the whole state), and a
 * duplicate delivery of a message that succeeded writes `succeeded` again. `get` is not wrapped.
 */
export class SafeStatusStore implements StatusStore {
  constructor(
    private readonly inner: StatusStore,
    private readonly logger: Logger,
    private readonly metrics?: Metrics,
  ) {}

  accepted: StatusStore['accepted'] = (s, o) => this.#safe('accepted', s.id, () => this.inner.accepted(s, o));
  processing: StatusStore['processing'] = (s) =>
    this.#safe('processing', s.id, () => this.inner.processing(s));
  succeeded: StatusStore['succeeded'] = (s, r) =>
    this.#safe('succeeded', s.id, () => this.inner.succeeded(s, r));
  retrying: StatusStore['retrying'] = (s, e) => this.#safe('retrying', s.id, () => this.inner.retrying(s, e));
  deferred: StatusStore['deferred'] = (s, d) => this.#safe('deferred', s.id, () => this.inner.deferred(s, d));
  failed: StatusStore['failed'] = (s, f, e, o) =>
    this.#safe('failed', s.id, () => this.inner.failed(s, f, e, o));
  childEnqueued: StatusStore['childEnqueued'] = (parentId, childId) =>
    this.#safe('childEnqueued', parentId, () => this.inner.childEnqueued(parentId, childId));
  get: StatusStore['get'] = (id) => this.inner.get(id);

  async #safe(transition: string, id: string, write: () => Promise<void>): Promise<void> {
    try {
      await write();
    } catch (error) {
      this.logger.error('status write failed; the message goes on, its status catches up later', {
        transition,
        envelopeId: id,
        error,
      });
      if (this.metrics) {
        const m = this.metrics.singleMetric();
        m.addDimension('transition', transition);
        m.addMetric('statusWriteFailed', MetricUnit.Count, 1);
      }
    }
  }
}
