/** `usePresence(docId, user)`: who else has the document open (y-websocket awareness), and announcing oneself. */

import { useEffect, useMemo, useSyncExternalStore } from 'react';
import { useRooms } from './provider.js';
import type { Room, Rooms } from './room.js';

/** What a participant shows of itself (the `user` field of its awareness state). */
export interface PresenceUser {
  name: string;
  color: string;
  [key: string]: unknown;
}

/** A participant: its awareness client id and what it announced. */
export interface Peer {
  readonly clientId: number;
  readonly user: PresenceUser | undefined;
}

/** Who is here: this page's client id, and everyone else with the document open. */
export interface Presence {
  readonly self: number | undefined;
  readonly others: readonly Peer[];
}

const NOBODY: Presence = { self: undefined, others: [] };

class PresenceBinding {
  private room: Room | undefined;
  private current: Presence = NOBODY;

  constructor(
    private readonly rooms: Rooms,
    private readonly docId: string,
  ) {}

  readonly subscribe = (notify: () => void): (() => void) => {
    const room = this.rooms.acquire(this.docId);
    this.room = room;
    const awareness = room.provider.awareness;
    const onChange = () => {
      this.current = presenceOf(room);
      notify();
    };
    awareness.on('change', onChange);
    onChange();
    return () => {
      awareness.off('change', onChange);
      if (this.room === room) this.room = undefined;
      this.current = NOBODY;
      this.rooms.release(this.docId);
    };
  };

  readonly getSnapshot = (): Presence => this.current;

  readonly getServerSnapshot = (): Presence => NOBODY;

  announce(user: PresenceUser | undefined): void {
    this.room?.provider.awareness.setLocalStateField('user', user ?? null);
  }
}

function presenceOf(room: Room): Presence {
  const awareness = room.provider.awareness;
  const others: Peer[] = [];
  for (const [clientId, state] of awareness.getStates()) {
    if (clientId === awareness.clientID) continue;
    const user = (state as { user?: PresenceUser | null }).user ?? undefined;
    others.push({ clientId, user });
  }
  others.sort((a, b) => a.clientId - b.clientId);
  return { self: awareness.clientID, others };
}

/**
 * The participants of `docId` other than this page (re-rendering when one comes, goes or changes
 * what it shows), after announcing `user` (`{ name, color, … }`) as this page's presence.
 */
export function usePresence(docId: string, user?: PresenceUser): Presence {
  const rooms = useRooms();
  const binding = useMemo(() => new PresenceBinding(rooms, docId), [rooms, docId]);
  const presence = useSyncExternalStore(binding.subscribe, binding.getSnapshot, binding.getServerSnapshot);
  const announced = user === undefined ? undefined : JSON.stringify(user);
  // biome-ignore lint/correctness/useExhaustiveDependencies: `announced` stands for `user` (compared by content).
  useEffect(() => binding.announce(user), [binding, announced]);
  return presence;
}
