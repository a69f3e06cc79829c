/**
 * The one dedicated LISTEN connection of a node. It listens to the channels it is asked for,
 * reconnects with backoff when the connection drops (server restart, failover, network), listens
 * to every channel again, and only then reports `reconnected`, so a catch-up read made after that
 * misses nothing. A periodic ping notices a connection that died silently.
 */

import { ErrorCode, YStateError } from '@ystate/core';
import type { Client } from 'pg';
import { isConnectionError, storeError } from './errors.js';
import { quoteIdentifier } from './names.js';

export interface ListenerEvents {
  notification(channel: string, payload: string): void;
  /** A connection came back after one was lost, and every channel is listened to again. */
  reconnected(): void;
  /** Failures with no caller: a dropped connection, a failed reconnect attempt. */
  error(error: unknown, context: string): void;
}

export interface ListenerOptions {
  /** Makes a new, unconnected client (with the store's connection settings). */
  createClient: () => Client;
  /** First delay before reconnecting (default 100 ms); doubles per failed attempt. */
  minReconnectDelayMs?: number;
  /** Longest delay between reconnect attempts (default 5,000 ms). */
  maxReconnectDelayMs?: number;
  /** How often the connection is pinged (default 30,000 ms; 0 turns pings off). */
  pingIntervalMs?: number;
  /** A ping without an answer for this long counts as a lost connection (default 10,000 ms). */
  pingTimeoutMs?: number;
}

/** LISTEN on one connection, with reconnects. Reference counting per channel happens above, in the bus. */
export class NotificationListener {
  private readonly channels = new Set<string>();
  /** The client being connected or connected: notifications from any other are stale. */
  private current: Client | undefined;
  /** The connected client, listening to every wanted channel. */
  private client: Client | undefined;
  private connecting: Promise<Client> | undefined;
  private hadConnection = false;
  private failures = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private pingTimer: ReturnType<typeof setInterval> | undefined;
  private closed = false;
  private readonly minDelay: number;
  private readonly maxDelay: number;
  private readonly pingInterval: number;
  private readonly pingTimeout: number;

  constructor(
    private readonly options: ListenerOptions,
    private readonly events: ListenerEvents,
  ) {
    this.minDelay = options.minReconnectDelayMs ?? 100;
    this.maxDelay = options.maxReconnectDelayMs ?? 5000;
    this.pingInterval = options.pingIntervalMs ?? 30_000;
    this.pingTimeout = options.pingTimeoutMs ?? 10_000;
  }

  /** True while connected and listening. */
  get connected(): boolean {
    return this.client !== undefined;
  }

  /**
   * Listens to `channel`; resolves once notifications on it are delivered. Rejects with
   * LOG_UNAVAILABLE when no connection can be made now (reconnecting goes on in the background).
   */
  async listen(channel: string): Promise<void> {
    this.channels.add(channel);
    for (;;) {
      const client = await this.connection();
      // Given up meanwhile (the connection listened to what was wanted when it was made).
      if (!this.channels.has(channel)) return;
      try {
        await client.query(`LISTEN ${quoteIdentifier(channel)}`);
        return;
      } catch (error) {
        if (!isConnectionError(error)) throw storeError(error, `LISTEN ${channel}`);
        // The next connection listens to every wanted channel, this one included.
        this.lost(client, error);
      }
    }
  }

  /** Stops listening to `channel`. Never fails: a lost connection forgets its channels anyway. */
  async unlisten(channel: string): Promise<void> {
    this.channels.delete(channel);
    const client = this.client;
    if (client === undefined) return;
    try {
      await client.query(`UNLISTEN ${quoteIdentifier(channel)}`);
    } catch (error) {
      if (isConnectionError(error)) this.lost(client, error);
      else this.events.error(error, `UNLISTEN ${channel}`);
    }
  }

  /** Closes the connection and stops reconnecting. */
  async close(): Promise<void> {
    this.closed = true;
    this.channels.clear();
    clearTimeout(this.reconnectTimer);
    clearInterval(this.pingTimer);
    await this.connecting?.catch(() => undefined);
    const client = this.current;
    this.current = undefined;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  /** The connected client, connecting first when there is none. */
  private connection(): Promise<Client> {
    if (this.closed) {
      return Promise.reject(
        new YStateError({ code: ErrorCode.DOCUMENT_CLOSED, message: 'the PostgreSQL sync bus is closed' }),
      );
    }
    if (this.client !== undefined) return Promise.resolve(this.client);
    this.connecting ??= this.connect().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async connect(): Promise<Client> {
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    const client = this.options.createClient();
    this.current = client;
    client.on('notification', (message) => {
      if (client === this.current) this.events.notification(message.channel, message.payload ?? '');
    });
    client.on('error', (error) => this.lost(client, error));
    client.on('end', () => this.lost(client, undefined));
    const listened = [...this.channels];
    try {
      await client.connect();
      if (listened.length > 0) {
        await client.query(listened.map((channel) => `LISTEN ${quoteIdentifier(channel)}`).join('; '));
      }
    } catch (cause) {
      if (client === this.current) this.current = undefined;
      client.end().catch(() => undefined);
      this.scheduleReconnect();
      throw storeError(cause, 'connecting the LISTEN connection');
    }
    if (this.closed || client !== this.current) {
      client.end().catch(() => undefined);
      throw new YStateError({
        code: ErrorCode.DOCUMENT_CLOSED,
        message: 'the PostgreSQL sync bus is closed',
      });
    }
    this.client = client;
    this.failures = 0;
    // Channels given up while connecting were listened to all the same: stop them.
    const stray = listened.filter((channel) => !this.channels.has(channel));
    for (const channel of stray) void this.unlistenOn(client, channel);
    this.startPing(client);
    if (this.hadConnection) this.events.reconnected();
    this.hadConnection = true;
    return client;
  }

  private async unlistenOn(client: Client, channel: string): Promise<void> {
    await client.query(`UNLISTEN ${quoteIdentifier(channel)}`).catch(() => undefined);
  }

  /** `client` failed or ended: forget it and reconnect while channels are wanted. */
  private lost(client: Client, error: unknown): void {
    if (client !== this.current) return;
    this.current = undefined;
    this.client = undefined;
    clearInterval(this.pingTimer);
    client.end().catch(() => undefined);
    if (this.closed) return;
    this.events.error(error ?? new Error('the LISTEN connection ended'), 'LISTEN connection lost');
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closed || this.reconnectTimer !== undefined || this.channels.size === 0) return;
    const delay = Math.min(this.maxDelay, this.minDelay * 2 ** this.failures);
    this.failures++;
    // Jitter, so nodes that lost the server together do not come back in lockstep.
    this.reconnectTimer = setTimeout(
      () => {
        this.reconnectTimer = undefined;
        if (this.client !== undefined || this.connecting !== undefined) return;
        this.connection().catch((error) => {
          if (!this.closed) this.events.error(error, 'reconnecting the LISTEN connection');
        });
      },
      delay * (0.75 + Math.random() * 0.5),
    );
    this.reconnectTimer.unref?.();
  }

  private startPing(client: Client): void {
    clearInterval(this.pingTimer);
    if (this.pingInterval <= 0) return;
    this.pingTimer = setInterval(() => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error('the LISTEN connection did not answer a ping')),
          this.pingTimeout,
        );
      });
      Promise.race([client.query('SELECT 1'), timeout])
        .catch((error) => this.lost(client, error))
        .finally(() => clearTimeout(timer));
    }, this.pingInterval);
    this.pingTimer.unref?.();
  }
}
