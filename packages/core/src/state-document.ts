/**
 * A document: one `Y.Doc` whose root map is a JSON view addressed by JSON Pointers. Writes go
 * through all-or-nothing edits; every transaction, local or remote, is reported as the exact JSON
 * Patch from the previous JSON to the next, to `onChange` listeners and path subscribers.
 */

import * as Y from 'yjs';
import { documentJson, hasContent, ROOT_MAP, typedRoot } from './document-roots.js';
import { Edit } from './edit.js';
import { ErrorCode, YStateError } from './errors.js';
import type { Json } from './json.js';
import { type PatchOperation, parsePatch } from './json-patch.js';
import { ListPositions } from './list-positions.js';
import { compilePattern } from './path-pattern.js';
import { parsePointer } from './pointer.js';
import { patchOfTransaction, rootsWithContent } from './transaction-patch.js';
import type { Writable } from './y-value.js';

export { ROOT_MAP };

/** One committed change of a document's JSON view. */
export interface Change {
  readonly docId: string;
  /** RFC 6902 operations that turn the JSON before this change into the JSON after it. */
  readonly ops: readonly PatchOperation[];
  /** The transaction origin: who made the change (a client, an agent, the log, …). */
  readonly origin: unknown;
  /** True when the change was made on this replica rather than received as an update. */
  readonly local: boolean;
  /** The log sequence number of the change, once a log has assigned one. */
  readonly seq?: number;
}

/** Receives each change of a document (`onChange`, `subscribe`). */
export type ChangeListener = (change: Change) => void;

/** Writes within one all-or-nothing batch; reads see the batch's own pending writes. */
export interface DocumentWriter {
  /** The JSON at `pointer` as the batch sees it, or `undefined`. */
  get(pointer: string): Json | undefined;
  /** Sets an object member or replaces an array element; the parent must exist. */
  set(pointer: string, value: Writable): void;
  /** Deletes the value at `pointer`, which must exist. */
  delete(pointer: string): void;
  /** Inserts into an array at the pointer's last segment (an index, or `-` to append). */
  insert(pointer: string, value: Writable): void;
  /** Appends values to the array at `pointer`. */
  push(pointer: string, ...values: Writable[]): void;
  /** Deep-merges an object into the object at `pointer`. */
  merge(pointer: string, value: Writable): void;
  /** Edits the collaborative text at `pointer` like `Array.prototype.splice`. */
  spliceText(pointer: string, index: number, deleteCount: number, text: string): void;
  /** Applies one RFC 6902 operation (a failed `test` throws, undoing the whole batch). */
  apply(operation: PatchOperation): void;
}

/** The state a patch was written against: an encoded Yjs state, or a snapshot (documents with gc off). */
export type BaseVersion = Uint8Array | Y.Snapshot;

/** How `StateDocument.applyPatch` interprets a patch. */
export interface PatchOptions {
  /** Interpret the patch against this earlier state and merge the result (see docs/architecture.md). */
  base?: BaseVersion;
  origin?: unknown;
}

/** Options of `new StateDocument(docId, options)`. */
export interface StateDocumentOptions {
  /** An existing Y.Doc to wrap; a new one is created otherwise. */
  ydoc?: Y.Doc;
  /** The transaction origin of writes made through this object (default: the document itself). */
  origin?: unknown;
  /** Receives errors thrown by listeners; without it they are rethrown asynchronously. */
  onListenerError?: (error: unknown, change: Change) => void;
  /**
   * Takes each change instead of it being emitted at once; whoever assigns sequence numbers calls
   * `emit` later, in transaction order, with the seq attached.
   */
  sequencer?: (change: Change, transaction: Y.Transaction) => void;
  /**
   * Where writes through this object go instead of its own Y.Doc. A live document of an engine
   * reads from the durable state (exactly the log up to its seq) and stages writes on a replica
   * until the log holds them; see docs/architecture.md.
   */
  writeTo?: WriteTarget;
}

/** Takes the writes of a document that does not write to its own Y.Doc (see `StateDocumentOptions.writeTo`). */
export interface WriteTarget {
  /** Runs a write against the document that takes it. */
  write<T>(run: (doc: StateDocument) => T): T;
  /** The `Y.Text` at `pointer` in that document, for editor bindings. */
  text(pointer: string): Y.Text;
}

/** A collaborative JSON document addressed by JSON Pointers. */
export class StateDocument {
  readonly docId: string;
  readonly ydoc: Y.Doc;
  readonly root: Y.Map<unknown>;
  private readonly origin: unknown;
  private readonly listeners = new Set<ChangeListener>();
  private readonly onListenerError: ((error: unknown, change: Change) => void) | undefined;
  private readonly sequencer: ((change: Change, transaction: Y.Transaction) => void) | undefined;
  private readonly writeTo: WriteTarget | undefined;
  private destroyed = false;
  private pausedWrites = false;
  /** The roots other than `state` that the JSON shows (had content after the last transaction). */
  private readonly shownRoots: Set<string>;
  /** Where items sit in long lists, for the paths of changes inside them. */
  private readonly positions = new ListPositions();

  /** A document named `docId`, wrapping `options.ydoc` or a new Y.Doc. */
  constructor(docId: string, options: StateDocumentOptions = {}) {
    this.docId = docId;
    this.ydoc = options.ydoc ?? new Y.Doc();
    this.root = this.ydoc.getMap(ROOT_MAP);
    this.origin = options.origin ?? this;
    this.onListenerError = options.onListenerError;
    this.sequencer = options.sequencer;
    this.writeTo = options.writeTo;
    this.shownRoots = rootsWithContent(this.ydoc);
    this.ydoc.on('afterTransaction', this.observe);
  }

  /** The JSON at `pointer`, or `undefined` when nothing is there. */
  get(pointer = ''): Json | undefined {
    return new Edit(this.root).read(pointer);
  }

  /** The whole document as JSON: the root map's entries, and every other root under `$roots`. */
  toJSON(): Record<string, Json> {
    return documentJson(this.ydoc);
  }

  /** Sets an object member or replaces an array element; the parent must exist. */
  set(pointer: string, value: Writable): void {
    this.batch((tx) => tx.set(pointer, value));
  }

  /** Deletes the value at `pointer`, which must exist. */
  delete(pointer: string): void {
    this.batch((tx) => tx.delete(pointer));
  }

  /** Inserts into an array at the pointer's last segment (an index, or `-` to append). */
  insert(pointer: string, value: Writable): void {
    this.batch((tx) => tx.insert(pointer, value));
  }

  /** Appends values to the array at `pointer`. */
  push(pointer: string, ...values: Writable[]): void {
    this.batch((tx) => tx.push(pointer, ...values));
  }

  /** Deep-merges an object into the object at `pointer`. */
  merge(pointer: string, value: Writable): void {
    this.batch((tx) => tx.merge(pointer, value));
  }

  /** Edits the collaborative text (`Y.Text`) at `pointer` like `Array.prototype.splice`. */
  spliceText(pointer: string, index: number, deleteCount: number, text = ''): void {
    this.batch((tx) => tx.spliceText(pointer, index, deleteCount, text));
  }

  /** The `Y.Text` at `pointer`, for editor bindings (on the replica writes go to, when there is one). */
  text(pointer: string): Y.Text {
    if (this.writeTo) return this.writeTo.text(pointer);
    let node: unknown = this.root;
    for (const segment of parsePointer(pointer)) {
      node =
        node instanceof Y.Map
          ? node.get(segment)
          : node instanceof Y.Array
            ? node.get(Number(segment))
            : undefined;
    }
    if (!(node instanceof Y.Text)) {
      throw new YStateError({
        code: ErrorCode.TYPE_MISMATCH,
        message: `"${pointer}" is not collaborative text`,
      });
    }
    return node;
  }

  /**
   * Runs several writes as one transaction, all or nothing: if `fn` throws, nothing changes.
   * Returns what `fn` returns.
   */
  batch<T>(fn: (tx: DocumentWriter) => T, origin: unknown = this.origin): T {
    this.assertOpen();
    const target = this.writeTo;
    if (target) return target.write((doc) => doc.batch(fn, origin));
    const edit = new Edit(this.root);
    const result = fn(writerOf(edit));
    edit.commit(origin);
    return result;
  }

  /**
   * Applies an RFC 6902 JSON Patch as one transaction, all or nothing. With `base`, the patch is
   * interpreted against that earlier state and the result merged, so positions mean what the
   * author saw.
   */
  applyPatch(patch: unknown, options: PatchOptions = {}): void {
    const ops = parsePatch(patch);
    const origin = options.origin ?? this.origin;
    const target = this.writeTo;
    if (target) {
      this.assertOpen();
      target.write((doc) => doc.applyPatch(ops, { ...options, origin }));
      return;
    }
    if (options.base === undefined) {
      this.batch((tx) => {
        for (const op of ops) tx.apply(op);
      }, origin);
      return;
    }
    this.assertOpen();
    const fork = forkAt(this.ydoc, options.base);
    try {
      const before = Y.encodeStateVector(fork);
      const edit = new Edit(fork.getMap(ROOT_MAP));
      for (const op of ops) edit.apply(op);
      edit.commit(null);
      Y.applyUpdate(this.ydoc, Y.encodeStateAsUpdate(fork, before), origin);
    } finally {
      fork.destroy();
    }
  }

  /** Calls `listener` with every change. Returns a function that stops it. */
  onChange(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Calls `listener` with the operations of each change that touch `pattern` (`*` = one segment,
   * `**` = any depth). Returns a function that stops it.
   */
  subscribe(pattern: string, listener: ChangeListener): () => void {
    const compiled = compilePattern(pattern);
    return this.onChange((change) => {
      const ops = change.ops.filter(
        (op) =>
          compiled.touches(parsePointer(op.path)) ||
          ('from' in op && compiled.touches(parsePointer(op.from))),
      );
      if (ops.length > 0) listener({ ...change, ops });
    });
  }

  /** Reports a change to listeners; used by the document itself and by whoever assigns sequence numbers. */
  emit(change: Change): void {
    for (const listener of this.listeners) {
      try {
        listener(change);
      } catch (error) {
        if (this.onListenerError) this.onListenerError(error, change);
        else
          queueMicrotask(() => {
            throw error;
          });
      }
    }
  }

  /** Stops reporting changes and releases the Y.Doc. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.ydoc.off('afterTransaction', this.observe);
    this.listeners.clear();
    this.ydoc.destroy();
  }

  /** True once `destroy` was called: the document reports no more changes. */
  get isDestroyed(): boolean {
    return this.destroyed;
  }

  private readonly observe = (transaction: Y.Transaction): void => {
    // Lists this transaction changed have new positions.
    for (const type of transaction.changed.keys()) this.positions.forget(type);
    // Building a patch costs time (a text change carries the whole string: JSON Patch has no
    // splice), so unobserved documents skip it, keeping only which roots are shown up to date.
    if (this.listeners.size === 0) {
      if (transaction.changed.size > 0) this.refreshShownRoots(transaction);
      return;
    }
    const ops = patchOfTransaction(this.ydoc, transaction, this.shownRoots, this.positions);
    if (ops.length === 0) return;
    const change: Change = { docId: this.docId, ops, origin: transaction.origin, local: transaction.local };
    if (this.sequencer) this.sequencer(change, transaction);
    else this.emit(change);
  };

  private refreshShownRoots(transaction: Y.Transaction): void {
    for (const [name, root] of [...this.ydoc.share]) {
      if (name === ROOT_MAP || !transaction.changed.has(root)) continue;
      const typed = typedRoot(this.ydoc, name);
      if (typed !== undefined && hasContent(typed)) this.shownRoots.add(name);
      else this.shownRoots.delete(name);
    }
  }

  /** While paused, writes through this object are refused with DOCUMENT_PAUSED. */
  setWritesPaused(paused: boolean): void {
    this.pausedWrites = paused;
  }

  /** True when someone listens for changes. */
  get observed(): boolean {
    return this.listeners.size > 0;
  }

  private assertOpen(): void {
    if (this.destroyed) {
      throw new YStateError({
        code: ErrorCode.DOCUMENT_CLOSED,
        message: `document "${this.docId}" is closed`,
      });
    }
    if (this.pausedWrites) {
      throw new YStateError({
        code: ErrorCode.DOCUMENT_PAUSED,
        message: `document "${this.docId}" is paused`,
      });
    }
  }
}

function writerOf(edit: Edit): DocumentWriter {
  return {
    get: (pointer) => edit.read(pointer),
    set: (pointer, value) => edit.set(pointer, value),
    delete: (pointer) => edit.remove(pointer),
    insert: (pointer, value) => edit.insert(pointer, value),
    push: (pointer, ...values) => edit.push(pointer, values),
    merge: (pointer, value) => edit.merge(pointer, value),
    spliceText: (pointer, index, deleteCount, text) => edit.spliceText(pointer, index, deleteCount, text),
    apply: (operation) => edit.apply(operation),
  };
}

/** A private copy of `doc` as it was at `base`, with a fresh client id so its writes never collide. */
function forkAt(doc: Y.Doc, base: BaseVersion): Y.Doc {
  if (base instanceof Uint8Array) {
    const fork = new Y.Doc({ gc: false });
    Y.applyUpdate(fork, base);
    return fork;
  }
  if (doc.gc) {
    throw new YStateError({
      code: ErrorCode.INVALID_PATCH,
      message:
        'a snapshot base needs a document created with gc disabled; pass the encoded base state instead',
    });
  }
  return Y.createDocFromSnapshot(doc, base);
}
