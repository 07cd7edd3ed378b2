import type { DeliveryMemo } from './crash-isolation';

/** How many deliveries a sandbox remembers. @default */
export const DELIVERY_MEMO_SIZE = 10_000;

/**
 * The memo of crash isolation (`./crash-isolation.ts`): for each record whose delivery ended
 * without a crash in this sandbox (it ran and failed, or it was held back or handed back while
 * not being a suspect itself), the receive count of that delivery. A record that succeeded is
 * deleted and never comes back, so it needs no entry.
 *
 * It lives in the sandbox's memory, which is exactly what a crash or a timeout wipes: a record
 * whose last delivery is not in the memo is a suspect. A redelivery that lands in another
 * sandbox is a suspect too; that costs it isolation (it runs alone, later), never its receives
 * being counted unfairly. Costs no request. Bounded: the oldest entries are forgotten first.
 */
export class SandboxDeliveryMemo implements DeliveryMemo {
  private readonly entries = new Map<string, number>();

  constructor(private readonly capacity: number = DELIVERY_MEMO_SIZE) {}

  accountedUpTo(messageId: string): number | undefined {
    return this.entries.get(messageId);
  }

  /** Records that the delivery of `messageId` with `receiveCount` ended without a crash. */
  account(messageId: string, receiveCount: number): void {
    this.entries.delete(messageId);
    this.entries.set(messageId, receiveCount);
    if (this.entries.size > this.capacity) {
      this.entries.delete(this.entries.keys().next().value!);
    }
  }

  /** Forgets a record (it succeeded and was deleted). */
  forget(messageId: string): void {
    this.entries.delete(messageId);
  }
}
