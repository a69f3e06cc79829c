/**
 * The value at one JSON Pointer of a live document, kept current and stable: it is read again only
 * when a change could have touched it (an operation at, above or below the pointer, or beside one of
 * its ancestors — an array insert before it renumbers it), and replaced only when it differs, so a
 * component sees a new value (by reference) exactly when its subtree changed.
 */

import { type Change, type Json, jsonEqual, parsePointer, type StateDocument } from '@ystate/core';

/** A watched pointer: its current value and the listeners to call when it changes. */
export class PointerWatch {
  private current: Json | undefined;
  private readonly segments: readonly string[];
  private readonly listeners = new Set<() => void>();
  private stop: (() => void) | undefined;

  constructor(
    private readonly doc: StateDocument,
    readonly pointer: string,
  ) {
    this.segments = parsePointer(pointer);
    this.current = doc.get(pointer);
  }

  /** The value at the pointer (undefined when nothing is there); the same object until it changes. */
  get value(): Json | undefined {
    return this.current;
  }

  /** Calls `listener` whenever the value changes; returns a function that stops it. */
  listen(listener: () => void): () => void {
    this.listeners.add(listener);
    this.stop ??= this.doc.onChange(this.onChange);
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) {
        this.stop?.();
        this.stop = undefined;
      }
    };
  }

  private readonly onChange = (change: Change): void => {
    if (!change.ops.some((op) => this.mayTouch(op.path) || ('from' in op && this.mayTouch(op.from)))) return;
    const next = this.doc.get(this.pointer);
    if (
      next === this.current ||
      (next !== undefined && this.current !== undefined && jsonEqual(next, this.current))
    ) {
      return;
    }
    this.current = next;
    for (const listener of [...this.listeners]) listener();
  };

  /** True when an operation at `path` may change the value: at, above or below it, or beside an ancestor. */
  private mayTouch(path: string): boolean {
    const op = parsePointer(path);
    const mine = this.segments;
    const shared = Math.min(op.length, mine.length);
    for (let i = 0; i < shared; i++) {
      if (op[i] !== mine[i]) return i === op.length - 1; // a sibling of one of the pointer's ancestors
    }
    return true;
  }
}
