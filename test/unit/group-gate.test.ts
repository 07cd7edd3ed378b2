import { describe, expect, it } from 'vitest';
import { GroupGate } from '../../local/triggers/group-gate';

// Local mode's FIFO group gate (local/triggers/group-gate.ts), step by step: which entries wait,
// which pass, and what the gate still holds after each release. The poller test
// (test/local/local-poller.test.ts) runs it under timers; these drive it by hand.

/** Whether `p` has settled after the microtasks queued so far ran. */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  void p.then(() => (done = true));
  await new Promise((r) => setImmediate(r));
  return done;
}

describe('FIFO group gate', () => {
  it('lets the first batch of a group in at once and holds its group', async () => {
    const gate = new GroupGate();

    const entering = gate.enter(['g1']);

    expect(await settled(entering)).toBe(true);
    expect(gate.held).toBe(1);
  });

  it('holds a later batch of the same group until the earlier one is released', async () => {
    // Prepare
    const gate = new GroupGate();
    const releaseFirst = await gate.enter(['g1']);

    // Act
    const second = gate.enter(['g1']);
    const waitedWhileHeld = !(await settled(second));
    releaseFirst();

    // Assess
    expect(waitedWhileHeld).toBe(true);
    expect(await settled(second)).toBe(true);
    expect(gate.held).toBe(1);
  });

  it('lets a batch of another group in while a group is held', async () => {
    const gate = new GroupGate();
    await gate.enter(['g1']);

    expect(await settled(gate.enter(['g2']))).toBe(true);
    expect(gate.held).toBe(2);
  });

  it('holds a batch of two groups until each group’s earlier batch is released', async () => {
    // Prepare
    const gate = new GroupGate();
    const releaseA = await gate.enter(['g1']);
    const releaseB = await gate.enter(['g2']);

    // Act
    const both = gate.enter(['g1', 'g2']);
    const states = [await settled(both)];
    releaseA();
    states.push(await settled(both));
    releaseB();
    states.push(await settled(both));

    // Assess
    expect(states).toEqual([false, false, true]);
  });

  it('runs three batches of one group in the order they entered', async () => {
    // Prepare
    const gate = new GroupGate();
    const order: string[] = [];
    const release1 = await gate.enter(['g']);
    const second = gate.enter(['g']).then((release) => (order.push('second'), release));
    const third = gate.enter(['g']).then((release) => (order.push('third'), release));

    // Act
    release1();
    (await second)();
    (await third)();

    // Assess
    expect(order).toEqual(['second', 'third']);
    expect(gate.held).toBe(0);
  });

  it('does not wait for itself when a batch names a group twice', async () => {
    const gate = new GroupGate();

    const release = gate.enter(['g', 'g']);

    expect(await settled(release)).toBe(true);
    (await release)();
    expect(gate.held).toBe(0);
  });

  it('forgets a group once its last batch is released, but not while a later one waits', async () => {
    // Prepare
    const gate = new GroupGate();
    const release1 = await gate.enter(['g1', 'g2']);
    const second = gate.enter(['g1']);

    // Act
    release1();
    const heldAfterFirst = gate.held;
    (await second)();

    // Assess: g2 went with the first; g1 stayed for the second until it was released
    expect(heldAfterFirst).toBe(1);
    expect(gate.held).toBe(0);
  });

  it('holds nothing for a batch without groups', async () => {
    const gate = new GroupGate();

    const release = await gate.enter([]);
    release();

    expect(gate.held).toBe(0);
  });
});
