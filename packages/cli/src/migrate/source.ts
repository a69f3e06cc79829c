/**
 * What `ystate migrate` imports from: a Yjs store that lists documents and gives each one's updates
 * in the order to apply them. y-redis, y-leveldb, a directory of state files and a SQL query are
 * sources; the command imports from any of them the same way (core's `importDocument`, then
 * `verifyImport`).
 */

/** A store of Yjs documents to import from. */
export interface MigrationSource {
  /** The origin recorded on imported entries: `y-redis`, `y-leveldb`, `files`, `postgres`. */
  readonly kind: string;
  /** Where it is, for messages (no passwords): `y-leveldb at /srv/db`. */
  readonly description: string;
  /** The document names it holds, unsorted. */
  names(): Promise<string[]>;
  /** How many updates it holds for `name` (= the entries an import of it makes). */
  count(name: string): Promise<number>;
  /** The updates of `name` in order, in batches. */
  updates(name: string): AsyncIterable<readonly Uint8Array[]>;
  /** Where the update at `index` of `name` is, for the error when it is not a Yjs update. */
  describe(name: string, index: number): string;
  close(): Promise<void>;
}
