/** A readers–writer lock for the operations on one file. */

interface Waiter {
  exclusive: boolean;
  grant: () => void;
}

/**
 * Shared holders run together, an exclusive holder runs alone. Waiters are served in arrival
 * order, so a waiting exclusive holder is not starved by a stream of shared ones.
 */
export class RwLock {
  #readers = 0;
  #writer = false;
  readonly #waiting: Waiter[] = [];

  /** Runs `task` alongside other shared holders. */
  async shared<T>(task: () => Promise<T>): Promise<T> {
    await this.#acquire(false);
    try {
      return await task();
    } finally {
      this.#release(false);
    }
  }

  /** Runs `task` alone. */
  async exclusive<T>(task: () => Promise<T>): Promise<T> {
    await this.#acquire(true);
    try {
      return await task();
    } finally {
      this.#release(true);
    }
  }

  #acquire(exclusive: boolean): Promise<void> {
    if (this.#waiting.length === 0 && this.#free(exclusive)) {
      this.#take(exclusive);
      return Promise.resolve();
    }
    return new Promise((grant) => {
      this.#waiting.push({ exclusive, grant });
    });
  }

  #release(exclusive: boolean): void {
    if (exclusive) this.#writer = false;
    else this.#readers -= 1;
    while (this.#waiting.length > 0) {
      const next = this.#waiting[0]!;
      if (!this.#free(next.exclusive)) break;
      this.#waiting.shift();
      this.#take(next.exclusive);
      next.grant();
    }
  }

  #free(exclusive: boolean): boolean {
    return exclusive ? !this.#writer && this.#readers === 0 : !this.#writer;
  }

  #take(exclusive: boolean): void {
    if (exclusive) this.#writer = true;
    else this.#readers += 1;
  }
}
