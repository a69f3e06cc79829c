/**
 * PostgreSQL's `DeliveryStore`: webhook cursors in `<prefix>deliveries` (raised with GREATEST,
 * never lowered), and per subscription one row of `<prefix>webhooks` holding its lease (holder and
 * expiry, taken by one conditional upsert on the database's clock) and its status (jsonb).
 */

import type { DeliveryStatus, DeliveryStore } from '@ystate/core';
import type { Pool } from 'pg';
import { storeError } from './errors.js';
import type { StoreTables } from './names.js';

/** Milliseconds since the epoch on the database's clock (every node's lease is measured by it). */
const NOW_MS = '(extract(epoch from clock_timestamp()) * 1000)::bigint';

/** Delivery state shared by every node on one PostgreSQL store. */
export class PostgresDeliveryStore implements DeliveryStore {
  /** A delivery store in the store's tables, over its pool. */
  constructor(
    private readonly pool: Pool,
    private readonly tables: StoreTables,
  ) {}

  async cursors(subscription: string): Promise<Map<string, number>> {
    const { rows } = await this.query<{ doc_id: string; seq: string }>(
      'reading webhook cursors',
      `SELECT doc_id, seq FROM ${this.tables.deliveries} WHERE subscription = $1`,
      [subscription],
    );
    return new Map(rows.map((row) => [row.doc_id, Number(row.seq)]));
  }

  async advance(subscription: string, docId: string, seq: number): Promise<void> {
    const t = this.tables.deliveries;
    await this.query(
      'raising a webhook cursor',
      `INSERT INTO ${t} (subscription, doc_id, seq) VALUES ($1, $2, $3)
       ON CONFLICT (subscription, doc_id) DO UPDATE SET seq = GREATEST(${t}.seq, EXCLUDED.seq)`,
      [subscription, docId, seq],
    );
  }

  async lease(subscription: string, holder: string, ttlMs: number): Promise<boolean> {
    const t = this.tables.webhooks;
    const { rowCount } = await this.query(
      'taking a webhook lease',
      `INSERT INTO ${t} (subscription, holder, expires_ms) VALUES ($1, $2, ${NOW_MS} + $3)
       ON CONFLICT (subscription) DO UPDATE SET holder = EXCLUDED.holder, expires_ms = EXCLUDED.expires_ms
       WHERE ${t}.holder IS NULL OR ${t}.holder = EXCLUDED.holder OR ${t}.expires_ms <= ${NOW_MS}`,
      [subscription, holder, ttlMs],
    );
    return rowCount === 1;
  }

  async release(subscription: string, holder: string): Promise<void> {
    await this.query(
      'releasing a webhook lease',
      `UPDATE ${this.tables.webhooks} SET holder = NULL, expires_ms = 0 WHERE subscription = $1 AND holder = $2`,
      [subscription, holder],
    );
  }

  async status(subscription: string): Promise<DeliveryStatus | undefined> {
    const { rows } = await this.query<{ status: DeliveryStatus | null }>(
      'reading a webhook status',
      `SELECT status FROM ${this.tables.webhooks} WHERE subscription = $1`,
      [subscription],
    );
    return rows[0]?.status ?? undefined;
  }

  async saveStatus(subscription: string, status: DeliveryStatus): Promise<void> {
    await this.query(
      'saving a webhook status',
      `INSERT INTO ${this.tables.webhooks} (subscription, status) VALUES ($1, $2)
       ON CONFLICT (subscription) DO UPDATE SET status = EXCLUDED.status`,
      [subscription, JSON.stringify(status)],
    );
  }

  async subscriptions(): Promise<string[]> {
    const { rows } = await this.query<{ subscription: string }>(
      'listing webhook subscriptions',
      `SELECT subscription FROM ${this.tables.webhooks}
       UNION SELECT DISTINCT subscription FROM ${this.tables.deliveries} ORDER BY 1`,
      [],
    );
    return rows.map((row) => row.subscription);
  }

  private async query<R extends object>(what: string, sql: string, values: unknown[]) {
    try {
      return await this.pool.query<R>(sql, values);
    } catch (cause) {
      throw storeError(cause, what);
    }
  }
}
