/**
 * The file store's `DeliveryStore`: one JSON file per webhook subscription in the store's
 * `webhooks/` directory (`{ "cursors": { docId: seq }, "status": … }`), replaced atomically (a
 * fsynced temp file renamed over it) on every change, so a crash leaves the old or the new one.
 * The file store serves one node (its directory is locked), so leases live in memory.
 */

import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type DeliveryStatus, type DeliveryStore, MemoryDeliveryStore, toYStateError } from '@ystate/core';
import { commitTempFile, writeTempFile } from './file-io.js';
import { docIdOfStem, fileStemOf } from './file-names.js';
import { invalidValue, STORAGE_FAILURE } from './store-errors.js';

/** The directory, inside a file store's, that holds the delivery files. */
export const DELIVERY_DIR = 'webhooks';

interface DeliveryFile {
  cursors: Record<string, number>;
  status?: DeliveryStatus;
}

/** Delivery state kept beside a file store's logs. */
export class FileDeliveryStore implements DeliveryStore {
  private readonly dir: string;
  private readonly files = new Map<string, Promise<DeliveryFile>>();
  private readonly writes = new Map<string, Promise<void>>();
  private readonly leases = new MemoryDeliveryStore();

  /** `storeDir` is the file store's directory; `readOnly` reads what a running server wrote. */
  constructor(
    storeDir: string,
    private readonly options: { readOnly?: boolean } = {},
  ) {
    this.dir = join(storeDir, DELIVERY_DIR);
  }

  async cursors(subscription: string): Promise<Map<string, number>> {
    return new Map(Object.entries((await this.read(subscription)).cursors));
  }

  advance(subscription: string, docId: string, seq: number): Promise<void> {
    return this.update(subscription, (file) => {
      const current = file.cursors[docId] ?? 0;
      if (seq <= current && Object.hasOwn(file.cursors, docId)) return false;
      file.cursors[docId] = Math.max(current, seq);
      return true;
    });
  }

  lease(subscription: string, holder: string, ttlMs: number): Promise<boolean> {
    return this.leases.lease(subscription, holder, ttlMs);
  }

  release(subscription: string, holder: string): Promise<void> {
    return this.leases.release(subscription, holder);
  }

  async status(subscription: string): Promise<DeliveryStatus | undefined> {
    const { status } = await this.read(subscription);
    return status === undefined ? undefined : structuredClone(status);
  }

  saveStatus(subscription: string, status: DeliveryStatus): Promise<void> {
    return this.update(subscription, (file) => {
      file.status = structuredClone(status);
      return true;
    });
  }

  async subscriptions(): Promise<string[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw toYStateError(error, STORAGE_FAILURE);
    }
    const ids = names.flatMap((name) => {
      const id = name.endsWith('.json') ? docIdOfStem(name.slice(0, -'.json'.length)) : undefined;
      return id === undefined ? [] : [id];
    });
    return ids.sort();
  }

  /** Waits for the writes in progress. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.writes.values()]);
  }

  private pathOf(subscription: string): string {
    return join(this.dir, `${fileStemOf(subscription)}.json`);
  }

  private read(subscription: string): Promise<DeliveryFile> {
    // A read-only view reads afresh: a running server writes the files.
    const cached = this.options.readOnly === true ? undefined : this.files.get(subscription);
    if (cached !== undefined) return cached;
    const loading = this.load(subscription);
    if (this.options.readOnly !== true) this.files.set(subscription, loading);
    loading.catch(() => this.files.delete(subscription));
    return loading;
  }

  private async load(subscription: string): Promise<DeliveryFile> {
    const path = this.pathOf(subscription);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { cursors: {} };
      throw toYStateError(error, STORAGE_FAILURE);
    }
    const parsed = JSON.parse(text) as DeliveryFile;
    return { cursors: { ...parsed.cursors }, ...(parsed.status ? { status: parsed.status } : {}) };
  }

  /** Changes a subscription's file in memory and writes it (in order per subscription) when `change` says so. */
  private update(subscription: string, change: (file: DeliveryFile) => boolean): Promise<void> {
    if (this.options.readOnly === true) {
      return Promise.reject(invalidValue('this delivery store was opened read-only'));
    }
    const previous = this.writes.get(subscription) ?? Promise.resolve();
    const next = previous
      .catch(() => undefined)
      .then(async () => {
        const file = await this.read(subscription);
        if (!change(file)) return;
        await this.write(subscription, file);
      });
    this.writes.set(subscription, next);
    return next;
  }

  private async write(subscription: string, file: DeliveryFile): Promise<void> {
    const path = this.pathOf(subscription);
    const tmp = `${path}.tmp`;
    const bytes = Buffer.from(JSON.stringify(file));
    try {
      await mkdir(this.dir, { recursive: true });
      await writeTempFile(tmp, (handle) => handle.writeFile(bytes).then(() => undefined), true);
      await commitTempFile(tmp, path, true);
    } catch (error) {
      // The file on disk is what counts: reload it on the next read.
      this.files.delete(subscription);
      throw toYStateError(error, STORAGE_FAILURE);
    }
  }
}
