// y-leveldb 0.2.0 ships types (dist/src/y-leveldb.d.ts) that its package.json "exports" do not
// expose under NodeNext resolution; these are the parts the tests use.
declare module 'y-leveldb' {
  import type * as Y from 'yjs';

  export const PREFERRED_TRIM_SIZE: number;

  export class LeveldbPersistence {
    constructor(location: string);
    getYDoc(docName: string): Promise<Y.Doc>;
    storeUpdate(docName: string, update: Uint8Array): Promise<number>;
    setMeta(docName: string, metaKey: string, value: unknown): Promise<void>;
    getMeta(docName: string, metaKey: string): Promise<unknown>;
    getAllDocNames(): Promise<string[]>;
    destroy(): Promise<void>;
  }
}
