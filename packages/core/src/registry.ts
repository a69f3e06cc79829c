/**
 * The document registry: the in-memory context for many documents. It opens documents by id
 * (once, however many callers ask), counts who holds each, reports opened/changed/closed, and
 * evicts documents nobody has held for a while. Persistence plugs in through `load` and `beforeEvict`.
 */

import { ObservableV2 } from 'lib0/observable';
import { ErrorCode, YStateError } from './errors.js';
import { type Change, StateDocument } from './state-document.js';
import type { Writable } from './y-value.js';

/** What a `DocumentRegistry` reports: documents opened, changed and closed, and eviction errors. */
export interface RegistryEvents {
  /** A document was opened (loaded). */
  opened: (doc: StateDocument) => void;
  /** An open document changed. */
  changed: (change: Change, doc: StateDocument) => void;
  /** A document was evicted or closed. */
  closed: (docId: string) => void;
  /** `beforeEvict` failed; the document stays open. */
  error: (error: unknown, docId: string) => void;
}

/** Options of `new DocumentRegistry(options)`. */
export interface RegistryOptions {
  /** Evict a document this long after its last holder released it. Default 30 s; `Infinity` never. */
  idleTimeoutMs?: number;
  /** Makes the document for an id, e.g. by loading it from a log. Default: a new empty document. */
  load?: (docId: string) => StateDocument | Promise<StateDocument>;
  /** Called before an idle document is evicted (to flush it, say); return `false` to keep it. */
  beforeEvict?: (doc: StateDocument) => boolean | undefined | Promise<boolean | undefined>;
}

interface Entry {
  doc: StateDocument;
  holders: number;
  idleTimer: ReturnType<typeof setTimeout> | undefined;
  /** Stops forwarding the document's changes as `changed` (set while someone listens for them). */
  stopChanges: (() => void) | undefined;
}

/** Opens, shares and evicts documents by `docId`. */
export class DocumentRegistry extends ObservableV2<RegistryEvents> {
  private readonly entries = new Map<string, Entry>();
  private readonly opening = new Map<string, Promise<StateDocument>>();
  private readonly idleTimeoutMs: number;
  private readonly load: (docId: string) => StateDocument | Promise<StateDocument>;
  private readonly beforeEvict: RegistryOptions['beforeEvict'];

  /** A registry with no documents open yet. */
  constructor(options: RegistryOptions = {}) {
    super();
    this.idleTimeoutMs = options.idleTimeoutMs ?? 30_000;
    this.load = options.load ?? ((docId) => new StateDocument(docId));
    this.beforeEvict = options.beforeEvict;
  }

  /**
   * Calls `f` on `name`. Documents' changes are forwarded as `changed` only while someone listens
   * for them: a document nobody observes skips building each change's JSON Patch.
   */
  override on<NAME extends keyof RegistryEvents & string>(name: NAME, f: RegistryEvents[NAME]) {
    const listener = super.on(name, f);
    if (name === 'changed') for (const entry of this.entries.values()) this.forward(entry);
    return listener;
  }

  /** Stops `f`; the last `changed` listener gone, documents stop forwarding their changes. */
  override off<NAME extends keyof RegistryEvents & string>(name: NAME, f: RegistryEvents[NAME]): void {
    super.off(name, f);
    if (name !== 'changed' || this.forwarding) return;
    for (const entry of this.entries.values()) {
      entry.stopChanges?.();
      entry.stopChanges = undefined;
    }
  }

  private get forwarding(): boolean {
    return (this._observers.get('changed')?.size ?? 0) > 0;
  }

  private forward(entry: Entry): void {
    const { doc } = entry;
    entry.stopChanges ??= doc.onChange((change) => this.emit('changed', [change, doc]));
  }

  /** Opens a document (loading it on first use) and holds it until `release`. */
  async open(docId: string): Promise<StateDocument> {
    const entry = this.entries.get(docId);
    if (entry) {
      this.hold(entry);
      return entry.doc;
    }
    let pending = this.opening.get(docId);
    if (pending === undefined) {
      pending = this.loadEntry(docId);
      this.opening.set(docId, pending);
    }
    const doc = await pending;
    const loaded = this.entries.get(docId);
    if (loaded === undefined || loaded.doc !== doc) return this.open(docId);
    this.hold(loaded);
    return doc;
  }

  /** Opens a document that must not be open yet, writing `initial` as its first state. */
  async create(docId: string, initial: Record<string, Writable> = {}): Promise<StateDocument> {
    if (this.entries.has(docId) || this.opening.has(docId)) {
      throw new YStateError({
        code: ErrorCode.DOCUMENT_EXISTS,
        message: `document "${docId}" is already open`,
      });
    }
    const doc = await this.open(docId);
    if (Object.keys(initial).length > 0) doc.merge('', initial);
    return doc;
  }

  /** The open document with this id, if any (does not hold it). */
  get(docId: string): StateDocument | undefined {
    return this.entries.get(docId)?.doc;
  }

  /** The ids of the open documents. */
  list(): string[] {
    return [...this.entries.keys()];
  }

  /** Lets go of a document opened with `open`; once nobody holds it, it is evicted after the idle timeout. */
  release(docId: string): void {
    const entry = this.entries.get(docId);
    if (entry === undefined || entry.holders === 0) return;
    entry.holders--;
    if (entry.holders === 0 && Number.isFinite(this.idleTimeoutMs)) {
      entry.idleTimer = setTimeout(() => void this.evict(docId, entry), this.idleTimeoutMs);
      unrefTimer(entry.idleTimer);
    }
  }

  /** Closes a document now, whoever holds it. */
  close(docId: string): void {
    const entry = this.entries.get(docId);
    if (entry === undefined) return;
    clearTimeout(entry.idleTimer);
    entry.stopChanges?.();
    this.entries.delete(docId);
    entry.doc.destroy();
    this.emit('closed', [docId]);
  }

  /** Closes every document. */
  closeAll(): void {
    for (const docId of this.list()) this.close(docId);
  }

  private async loadEntry(docId: string): Promise<StateDocument> {
    try {
      const doc = await this.load(docId);
      const entry: Entry = { doc, holders: 0, idleTimer: undefined, stopChanges: undefined };
      this.entries.set(docId, entry);
      if (this.forwarding) this.forward(entry);
      this.emit('opened', [doc]);
      return doc;
    } finally {
      this.opening.delete(docId);
    }
  }

  private hold(entry: Entry): void {
    entry.holders++;
    clearTimeout(entry.idleTimer);
    entry.idleTimer = undefined;
  }

  private async evict(docId: string, entry: Entry): Promise<void> {
    if (this.entries.get(docId) !== entry || entry.holders > 0) return;
    let keep: boolean;
    try {
      keep = (await this.beforeEvict?.(entry.doc)) === false;
    } catch (error) {
      this.emit('error', [error, docId]);
      return;
    }
    if (!keep && this.entries.get(docId) === entry && entry.holders === 0) this.close(docId);
  }
}

function unrefTimer(timer: ReturnType<typeof setTimeout>): void {
  // Node timers can be unref'd so an idle registry does not keep the process alive; browsers have no unref.
  (timer as { unref?: () => void }).unref?.();
}
