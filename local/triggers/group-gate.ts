/**
 * Keeps batches of a FIFO queue that share a message group from running at the same time, and
 * runs them in the order they were received. Each batch takes a place in the line of every group
 * it holds, synchronously and in receive order, so the lines never cross (no deadlock).
 */
export class GroupGate {
  private readonly tails = new Map<string, Promise<void>>();

  /** Waits until every earlier batch holding one of `groups` is done; returns the release function. */
  async enter(groups: Iterable<string>): Promise<() => void> {
    let release!: () => void;
    const done = new Promise<void>((resolve) => (release = resolve));
    const before: Promise<void>[] = [];
    const mine = [...new Set(groups)];
    for (const g of mine) {
      const tail = this.tails.get(g);
      if (tail) before.push(tail);
      this.tails.set(g, done);
    }
    await Promise.all(before);
    return () => {
      release();
      for (const g of mine) if (this.tails.get(g) === done) this.tails.delete(g);
    };
  }

  /** Groups with a batch running or waiting. */
  get held(): number {
    return this.tails.size;
  }
}
