/** `useConnectionStatus(docId)`: whether the document's connection is up and synced. */

import { useMemo, useSyncExternalStore } from 'react';
import { useRooms } from './provider.js';
import type { ConnectionStatus, Room, Rooms } from './room.js';

const NOT_CONNECTED: ConnectionStatus = { state: 'connecting', synced: false };

class StatusBinding {
  private room: Room | undefined;

  constructor(
    private readonly rooms: Rooms,
    private readonly docId: string,
  ) {}

  readonly subscribe = (notify: () => void): (() => void) => {
    const room = this.rooms.acquire(this.docId);
    this.room = room;
    const stop = room.onStatus(notify);
    return () => {
      stop();
      if (this.room === room) this.room = undefined;
      this.rooms.release(this.docId);
    };
  };

  readonly getSnapshot = (): ConnectionStatus => this.room?.status ?? NOT_CONNECTED;

  readonly getServerSnapshot = (): ConnectionStatus => NOT_CONNECTED;
}

/**
 * The connection of `docId`: `state` is `connecting` (also while reconnecting), `connected` or
 * `disconnected`; `synced` turns true once the document first synced with the server.
 */
export function useConnectionStatus(docId: string): ConnectionStatus {
  const rooms = useRooms();
  const binding = useMemo(() => new StatusBinding(rooms, docId), [rooms, docId]);
  return useSyncExternalStore(binding.subscribe, binding.getSnapshot, binding.getServerSnapshot);
}
