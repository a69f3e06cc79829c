/**
 * A room: one document and this node's connections to it. It holds the document open in the
 * engine, broadcasts every durable update to its connections, keeps the awareness of its clients
 * (relayed to other nodes through the bus's signals, never logged).
 */

import type { Engine, LogEntry, StateDocument, SyncBus } from '@ystate/core';
import * as decoding from 'lib0/decoding';
import type { Logger } from 'pino';
import {
  Awareness,
  applyAwarenessUpdate,
  encodeAwarenessUpdate,
  removeAwarenessStates,
} from 'y-protocols/awareness';
import * as Y from 'yjs';
import type { Alerts } from './alerts.js';
import { Connection } from './connection.js';
import type { ServerMetrics } from './metrics.js';
import type { ServerHooks } from './options.js';
import {
  type AwarenessEntry,
  decodeAwarenessEntries,
  encodeAwareness,
  encodeAwarenessEntries,
  encodeQueryAwareness,
  encodeSyncStep1,
  encodeSyncStep2,
  encodeUpdate,
  MessageType,
} from './protocol.js';
import { inSpanSync } from './tracing.js';

/** What a room needs from its server. */
export interface RoomContext {
  readonly engine: Engine;
  readonly bus: SyncBus | undefined;
  readonly hooks: ServerHooks;
  readonly metrics: ServerMetrics;
  readonly alerts: Alerts;
  readonly logger: Logger;
}

/** How long the encoded state for joining clients is kept when the document does not change. */
const FULL_STATE_TTL_MS = 1000;

/** The transaction origin of awareness updates that came from another node. */
const FROM_BUS = Symbol('from bus');

interface AwarenessChanges {
  added: number[];
  updated: number[];
  removed: number[];
}

export class Room {
  readonly connections = new Set<Connection>();
  readonly awareness: Awareness;
  private readonly awarenessDoc = new Y.Doc();
  /** The connection that introduced each awareness client id of this node's clients: only it may set or remove it. */
  private readonly owners = new Map<number, Connection>();
  private readonly stops: (() => void | Promise<void>)[] = [];
  private readonly log: Logger;
  private closing: Promise<void> | undefined;
  /** The whole document as a sync step 2, shared by the clients joining with nothing until it changes. */
  private fullState: Uint8Array | undefined;
  private fullStateTimer: ReturnType<typeof setTimeout> | undefined;

  private constructor(
    readonly docId: string,
    readonly doc: StateDocument,
    private readonly ctx: RoomContext,
  ) {
    this.log = ctx.logger.child({ docId });
    this.awareness = new Awareness(this.awarenessDoc);
    this.awareness.setLocalState(null);
    this.awareness.on('update', this.onAwarenessUpdate);
  }

  /** Opens the document in the engine and starts listening to its durable updates and the bus. */
  static async open(docId: string, ctx: RoomContext): Promise<Room> {
    const doc = await ctx.engine.open(docId);
    const room = new Room(docId, doc, ctx);
    try {
      room.stops.push(await ctx.engine.onDurableUpdate(docId, room.onDurableUpdate));
      const { bus } = ctx;
      if (bus) room.stops.push(await bus.subscribe(docId, room.onBusEntries));
      if (bus?.onSignal) {
        room.stops.push(await bus.onSignal(docId, room.onSignal));
        // Ask the other nodes for the awareness of their clients of this document.
        room.signal(encodeQueryAwareness());
      }
    } catch (error) {
      await room.close();
      throw error;
    }
    room.log.debug('room opened');
    return room;
  }

  /** Adds a connection: it gets sync step 1 and the current awareness states. */
  join(connection: Connection): void {
    this.connections.add(connection);
    connection.room = this;
    connection.send(encodeSyncStep1(Y.encodeStateVector(this.doc.ydoc)));
    this.sendAwarenessTo(connection);
  }

  /**
   * The sync step 2 answering a client's step 1: what the document has beyond `stateVector`.
   * Clients that join with nothing (a new page, a reconnect storm of fresh clients) share one
   * encoding of the whole document, kept until it changes or for a second, instead of encoding it
   * once each. Throws when the state vector is malformed.
   */
  syncStep2For(stateVector: Uint8Array): Uint8Array {
    if (stateVector.length !== 1 || stateVector[0] !== 0) {
      return encodeSyncStep2(Y.encodeStateAsUpdate(this.doc.ydoc, stateVector));
    }
    if (this.fullState === undefined) {
      this.fullState = encodeSyncStep2(Y.encodeStateAsUpdate(this.doc.ydoc));
      this.fullStateTimer = setTimeout(this.dropFullState, FULL_STATE_TTL_MS);
      this.fullStateTimer.unref?.();
    }
    return this.fullState;
  }

  private readonly dropFullState = (): void => {
    this.fullState = undefined;
    clearTimeout(this.fullStateTimer);
  };

  /** Removes a connection and the awareness states it set. */
  leave(connection: Connection): void {
    if (!this.connections.delete(connection)) return;
    const controlled = connection.controlledClients;
    if (controlled !== undefined && controlled.size > 0) {
      for (const client of controlled) this.owners.delete(client);
      removeAwarenessStates(this.awareness, [...controlled], null);
    }
  }

  /**
   * Applies an awareness update from a client (throws when it is malformed). A connection sets and
   * removes only the states of the client ids it introduced: entries for an id that another
   * connection owns, or that has a state from another node, are dropped and counted.
   */
  applyAwareness(connection: Connection, update: Uint8Array): void {
    const entries = decodeAwarenessEntries(update);
    const allowed: AwarenessEntry[] = [];
    let dropped = 0;
    for (const entry of entries) {
      if (this.mayControl(connection, entry.clientId)) allowed.push(entry);
      // y-websocket clients echo every state they receive: only foreign entries that would have
      // changed something count.
      else if (this.wouldChange(entry)) dropped++;
    }
    if (allowed.length < entries.length) {
      if (dropped > 0) {
        this.ctx.metrics.awarenessDropped.inc(dropped);
        if (connection.logs('debug')) {
          connection.log.debug(
            { dropped },
            'dropped awareness states of client ids the connection does not own',
          );
        }
      }
      if (allowed.length === 0) return;
    }
    const own = allowed.length === entries.length ? update : encodeAwarenessEntries(allowed);
    applyAwarenessUpdate(this.awareness, own, connection);
  }

  /** Whether `connection` may set or remove the awareness state of `clientId`: it owns it, or nobody holds it. */
  private mayControl(connection: Connection, clientId: number): boolean {
    const owner = this.owners.get(clientId);
    if (owner !== undefined) return owner === connection;
    return clientId !== this.awareness.clientID && !this.awareness.states.has(clientId);
  }

  /** Sends every awareness state this room knows to one connection. */
  sendAwarenessTo(connection: Connection): void {
    const clients = [...this.awareness.getStates().keys()];
    if (clients.length === 0) return;
    connection.send(encodeAwareness(encodeAwarenessUpdate(this.awareness, clients)));
  }

  /** Stops listening and lets go of the document. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      for (const stop of this.stops.splice(0).reverse()) {
        try {
          await stop();
        } catch (error) {
          this.log.warn({ err: error }, 'stopping a room subscription failed');
        }
      }
      this.dropFullState();
      this.awareness.off('update', this.onAwarenessUpdate);
      this.awareness.destroy();
      this.awarenessDoc.destroy();
      this.ctx.engine.release(this.docId);
      this.log.debug('room closed');
    })();
    return this.closing;
  }

  private readonly onDurableUpdate = (update: Uint8Array, seq: number, origin: string): void => {
    // Every change of the document is announced here: the shared encoding for joiners is stale.
    if (this.fullState !== undefined) this.dropFullState();
    if (this.connections.size === 0) return;
    const { hooks, metrics } = this.ctx;
    const skip = this.senderOf(origin);
    const recipients = this.connections.size - (skip === undefined ? 0 : 1);
    if (hooks.beforeBroadcast) {
      try {
        hooks.beforeBroadcast({ docId: this.docId, update, seq, origin, recipients });
      } catch (error) {
        this.log.warn({ err: error, seq }, 'beforeBroadcast refused a broadcast');
        return;
      }
    }
    const message = encodeUpdate(update);
    inSpanSync('ystate.broadcast', { 'ystate.doc_id': this.docId, 'ystate.seq': seq, recipients }, () => {
      for (const connection of this.connections) {
        if (connection !== skip && connection.send(message)) metrics.updatesOut.inc();
      }
    });
  };

  /**
   * The connection an update came from: every entry is announced on its own with its writer's
   * origin (entries that merge several writers carry the node's), so it is exactly its sender.
   */
  private senderOf(origin: string): Connection | undefined {
    for (const connection of this.connections) if (connection.origin === origin) return connection;
    return undefined;
  }

  private readonly onBusEntries = (entries: readonly LogEntry[]): void => {
    // Lag only: gaps (entries the bus lost) are counted where they are filled, in the engine.
    const now = Date.now();
    for (const entry of entries) {
      const lag = Math.max(0, now - entry.time);
      this.ctx.metrics.busLag.observe(lag / 1000);
      this.ctx.alerts.observe('busLagMs', lag);
    }
  };

  private readonly onAwarenessUpdate = ({ added, updated, removed }: AwarenessChanges, origin: unknown) => {
    if (origin instanceof Connection) {
      // A state set again after it was removed counts as updated, not added: both make it the sender's.
      for (const client of added) this.own(origin, client);
      for (const client of updated) this.own(origin, client);
      for (const client of removed) {
        this.owners.delete(client);
        origin.controlledClients?.delete(client);
      }
    }
    const changed = [...added, ...updated, ...removed];
    const message = encodeAwareness(encodeAwarenessUpdate(this.awareness, changed));
    for (const connection of this.connections) connection.send(message);
    if (origin !== FROM_BUS) this.signal(message);
  };

  /** Whether applying `entry` would change the room's awareness (y-protocols' rule: a newer clock, or a removal at the same one). */
  private wouldChange(entry: AwarenessEntry): boolean {
    const clock = this.awareness.meta.get(entry.clientId)?.clock ?? 0;
    return (
      entry.clock > clock ||
      (entry.clock === clock && entry.state === 'null' && this.awareness.states.has(entry.clientId))
    );
  }

  private own(connection: Connection, client: number): void {
    if (this.owners.get(client) === connection) return;
    this.owners.set(client, connection);
    connection.controlledClients ??= new Set();
    connection.controlledClients.add(client);
  }

  /** Awareness from another node, or its question for ours. */
  private readonly onSignal = (message: Uint8Array): void => {
    try {
      const decoder = decoding.createDecoder(message);
      const type = decoding.readVarUint(decoder);
      if (type === MessageType.awareness) {
        applyAwarenessUpdate(this.awareness, decoding.readVarUint8Array(decoder), FROM_BUS);
      } else if (type === MessageType.queryAwareness) {
        const local = [...this.connections].flatMap((c) => [...(c.controlledClients ?? [])]);
        if (local.length > 0) this.signal(encodeAwareness(encodeAwarenessUpdate(this.awareness, local)));
      }
    } catch (error) {
      this.log.debug({ err: error }, 'ignored a malformed signal from another node');
    }
  };

  private signal(message: Uint8Array): void {
    const { bus } = this.ctx;
    if (bus?.signal === undefined || this.closing) return;
    bus.signal(this.docId, message).catch((error: unknown) => {
      this.log.warn({ err: error }, 'sending awareness to other nodes failed');
    });
  }
}
