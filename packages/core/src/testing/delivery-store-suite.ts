/**
 * The acceptance suite every `DeliveryStore` runs (memory, file, Redis, PostgreSQL): cursors only
 * move forward, a lease has one holder at a time until it expires, status round-trips, and — when
 * the setup can reopen the store — all of it survives a restart.
 *
 *   runDeliveryStoreTests('MemoryDeliveryStore', async () => ({ stores: [new MemoryDeliveryStore()] }));
 */

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DeliveryStatus, DeliveryStore } from '../delivery-store.js';

/** What a setup hands the suite for one test. */
export interface DeliveryStoreTestContext {
  /**
   * One or two stores on the same storage (two nodes of a shared store; a single-node store gives
   * one, and the lease tests use it for both holders).
   */
  stores: [DeliveryStore] | [DeliveryStore, DeliveryStore];
  /** Opens the same storage again after `close`; enables the restart test. */
  reopen?: () => Promise<DeliveryStore>;
  /** Closes the stores (before `reopen`, and after the test). */
  close?: () => Promise<void>;
  /** Releases what the setup made; runs after `close`. */
  teardown?: () => Promise<void>;
}

/** Makes the context of one test; called before every test. */
export type DeliveryStoreSetup = () => Promise<DeliveryStoreTestContext>;

/** Registers the `DeliveryStore` acceptance tests under `name`. */
export function runDeliveryStoreTests(name: string, setup: DeliveryStoreSetup): void {
  describe(`DeliveryStore acceptance: ${name}`, () => {
    let context: DeliveryStoreTestContext;
    let a: DeliveryStore;
    let b: DeliveryStore;
    let closed: boolean;

    beforeEach(async () => {
      context = await setup();
      [a] = context.stores;
      b = context.stores[1] ?? a;
      closed = false;
    });

    afterEach(async () => {
      if (!closed) await context.close?.();
      await context.teardown?.();
    });

    it('keeps a cursor per subscription and document, and never moves one back', async () => {
      expect(await a.cursors('hooks/1')).toEqual(new Map());
      await a.advance('hooks/1', 'projects/42', 3);
      await b.advance('hooks/1', 'projects/42', 7);
      await a.advance('hooks/1', 'projects/42', 5);
      await a.advance('hooks/1', 'runs/ümlaut 🚀', 1);
      await a.advance('hooks/2', 'projects/42', 2);
      expect(await b.cursors('hooks/1')).toEqual(
        new Map([
          ['projects/42', 7],
          ['runs/ümlaut 🚀', 1],
        ]),
      );
      expect(await a.cursors('hooks/2')).toEqual(new Map([['projects/42', 2]]));
      expect((await a.subscriptions()).sort()).toEqual(['hooks/1', 'hooks/2']);
    });

    it('gives a lease to one holder at a time, renews it for that holder, and frees it on release', async () => {
      expect(await a.lease('hooks/1', 'node-a', 5_000)).toBe(true);
      expect(await b.lease('hooks/1', 'node-b', 5_000)).toBe(false);
      expect(await a.lease('hooks/1', 'node-a', 5_000)).toBe(true);
      expect(await b.lease('hooks/2', 'node-b', 5_000)).toBe(true);
      await b.release('hooks/1', 'node-b');
      expect(await b.lease('hooks/1', 'node-b', 5_000)).toBe(false);
      await a.release('hooks/1', 'node-a');
      expect(await b.lease('hooks/1', 'node-b', 5_000)).toBe(true);
      expect(await a.lease('hooks/1', 'node-a', 5_000)).toBe(false);
    });

    it('lets another holder take a lease once it expired', async () => {
      expect(await a.lease('hooks/1', 'node-a', 150)).toBe(true);
      expect(await b.lease('hooks/1', 'node-b', 5_000)).toBe(false);
      const deadline = Date.now() + 5_000;
      let taken = false;
      while (!taken && Date.now() < deadline) {
        taken = await b.lease('hooks/1', 'node-b', 5_000);
        if (!taken) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(taken).toBe(true);
      expect(await a.lease('hooks/1', 'node-a', 5_000)).toBe(false);
    });

    it('stores and replaces a status', async () => {
      expect(await a.status('hooks/1')).toBeUndefined();
      const status: DeliveryStatus = {
        since: 1_700_000_000_000,
        node: 'node-a',
        updatedAt: 1_700_000_000_500,
        failing: {
          'projects/42': { from: 3, attempts: 2, error: 'HTTP 503', since: 1, retryAt: 2 },
        },
      };
      await a.saveStatus('hooks/1', status);
      expect(await b.status('hooks/1')).toEqual(status);
      await b.saveStatus('hooks/1', { ...status, failing: {} });
      expect(await a.status('hooks/1')).toEqual({ ...status, failing: {} });
      expect(await a.subscriptions()).toEqual(['hooks/1']);
    });

    it('keeps cursors and status across a restart', async () => {
      if (context.reopen === undefined) return;
      await a.advance('hooks/1', 'projects/42', 9);
      await a.saveStatus('hooks/1', { since: 5, node: 'n', updatedAt: 6, failing: {} });
      await context.close?.();
      closed = true;
      const reopened = await context.reopen();
      try {
        expect(await reopened.cursors('hooks/1')).toEqual(new Map([['projects/42', 9]]));
        expect((await reopened.status('hooks/1'))?.since).toBe(5);
      } finally {
        await (reopened as { close?: () => Promise<void> }).close?.();
      }
    });
  });
}
