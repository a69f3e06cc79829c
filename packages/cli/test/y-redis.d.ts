// y-redis 1.0.3 ships types (dist/src/y-redis.d.ts) that its package.json "exports" do not expose
// under NodeNext resolution; these are the parts the tests use.
declare module 'y-redis' {
  import type * as Y from 'yjs';

  export class PersistenceDoc {
    readonly name: string;
    readonly synced: Promise<PersistenceDoc>;
    destroy(): Promise<unknown>;
  }

  export class RedisPersistence {
    constructor(options?: { redisOpts?: object | null; redisClusterOpts?: object[] | null });
    bindState(name: string, ydoc: Y.Doc): PersistenceDoc;
    closeDoc(name: string): Promise<unknown> | undefined;
    destroy(): Promise<void>;
  }
}
