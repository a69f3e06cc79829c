import { describe, expect, it } from 'vitest';
import { RwLock } from './rw-lock.js';

/** A promise with its resolve function. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

describe('RwLock', () => {
  it('runs shared holders together and an exclusive holder alone, in arrival order', async () => {
    const lock = new RwLock();
    const events: string[] = [];
    const first = gate();
    const hold = (name: string, until?: Promise<void>) => async () => {
      events.push(`start ${name}`);
      await until;
      events.push(`end ${name}`);
    };
    const tasks = [
      lock.shared(hold('read-1', first.promise)),
      lock.shared(hold('read-2')),
      lock.exclusive(hold('write')),
      lock.shared(hold('read-3')),
    ];
    await new Promise((resolve) => setImmediate(resolve));
    // Both readers started; the writer waits for them, the later reader waits for the writer.
    expect(events).toEqual(['start read-1', 'start read-2', 'end read-2']);
    first.open();
    await Promise.all(tasks);
    expect(events).toEqual([
      'start read-1',
      'start read-2',
      'end read-2',
      'end read-1',
      'start write',
      'end write',
      'start read-3',
      'end read-3',
    ]);
  });

  it('releases when a holder throws', async () => {
    const lock = new RwLock();
    await expect(lock.exclusive(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(lock.exclusive(async () => 'after')).resolves.toBe('after');
  });
});
