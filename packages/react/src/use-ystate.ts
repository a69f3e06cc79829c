/** `useYState(docId, pointer)`: the value at a JSON Pointer of a live document, and ways to change it. */

import type { Json, PatchOperation, Writable } from '@ystate/core';
import { useMemo, useSyncExternalStore } from 'react';
import type { PointerWatch } from './pointer-watch.js';
import { useRooms } from './provider.js';
import type { Room, Rooms } from './room.js';

/** What `useYState` returns. */
export interface YStateBinding<T extends Json = Json> {
  /** The value at the pointer; undefined when nothing is there (yet: before the first sync, on the server). */
  readonly value: T | undefined;
  /** Replaces the value at the pointer (creating it when missing). Synced to everyone, merged conflict-free. */
  set(value: T): void;
  /** Applies a JSON Patch whose paths are relative to the pointer, all or nothing. */
  patch(ops: readonly PatchOperation[]): void;
  /** Removes the value at the pointer. */
  remove(): void;
}

/** A hook's hold on one pointer of one document (stable across renders). */
class PointerBinding {
  private room: Room | undefined;
  private watch: PointerWatch | undefined;

  constructor(
    private readonly rooms: Rooms,
    private readonly docId: string,
    private readonly pointer: string,
  ) {}

  readonly subscribe = (notify: () => void): (() => void) => {
    const room = this.rooms.acquire(this.docId);
    const watch = room.watch(this.pointer);
    this.room = room;
    this.watch = watch;
    const stop = watch.listen(notify);
    return () => {
      stop();
      if (this.watch === watch) {
        this.room = undefined;
        this.watch = undefined;
      }
      this.rooms.release(this.docId);
    };
  };

  readonly getSnapshot = (): Json | undefined => this.watch?.value;

  readonly getServerSnapshot = (): Json | undefined => undefined;

  write(fn: (room: Room) => void): void {
    if (this.room === undefined) throw new Error(`useYState("${this.docId}"): not mounted yet`);
    fn(this.room);
  }

  /** `ops` with their paths moved under the pointer. */
  rebase(ops: readonly PatchOperation[]): PatchOperation[] {
    const under = (path: string) => `${this.pointer}${path}`;
    return ops.map((op) =>
      'from' in op ? { ...op, path: under(op.path), from: under(op.from) } : { ...op, path: under(op.path) },
    );
  }
}

/**
 * The value at `pointer` (RFC 6901, `''` for the whole document) of the live document `docId`,
 * re-rendering only when that subtree changes (by anyone: this page, other pages, agents, the
 * server's HTTP API). The document syncs over the stock y-websocket provider of the nearest
 * `YStateProvider`; writes apply at once locally and merge conflict-free everywhere.
 */
export function useYState<T extends Json = Json>(docId: string, pointer = ''): YStateBinding<T> {
  const rooms = useRooms();
  const binding = useMemo(() => new PointerBinding(rooms, docId, pointer), [rooms, docId, pointer]);
  const value = useSyncExternalStore(binding.subscribe, binding.getSnapshot, binding.getServerSnapshot);
  return useMemo(
    () => ({
      value: value as T | undefined,
      set: (next: T) => binding.write((room) => room.doc.set(pointer, next as Writable)),
      patch: (ops: readonly PatchOperation[]) =>
        binding.write((room) => room.doc.applyPatch(binding.rebase(ops))),
      remove: () => binding.write((room) => room.doc.delete(pointer)),
    }),
    [binding, value, pointer],
  );
}
