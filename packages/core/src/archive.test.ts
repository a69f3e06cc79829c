import { describe, expect, it } from 'vitest';
import { readArchive, restoreArchive, writeArchive } from './archive.js';
import { withCodecs } from './codecs.js';
import { Engine } from './engine.js';
import { ErrorCode } from './errors.js';
import { MemoryUpdateLog } from './memory-log.js';
import type { UpdateLog } from './update-log.js';

async function bytesOf(stream: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return Buffer.concat(chunks);
}

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  // Uneven chunks, as a file stream would give them.
  for (let i = 0; i < bytes.length; i += 777) yield bytes.subarray(i, i + 777);
}

/** A store without `restore` (like one that can only append). */
function appendOnly(log: MemoryUpdateLog): UpdateLog {
  return Object.assign(Object.create(log) as UpdateLog, { restore: undefined });
}

async function history(log: UpdateLog, docId: string): Promise<unknown[]> {
  const engine = new Engine({ log, idleTimeoutMs: Number.POSITIVE_INFINITY });
  const states = [];
  const head = await log.head(docId);
  const first = (await log.read(docId))[0]?.seq ?? head;
  for (let seq = Math.max(1, first - 1); seq <= head; seq++)
    states.push([seq, (await engine.stateAt(docId, { seq })).json]);
  await engine.close();
  return states;
}

async function populate(log: UpdateLog, options: { prune?: boolean } = {}): Promise<void> {
  const engine = new Engine({
    log,
    idleTimeoutMs: Number.POSITIVE_INFINITY,
    ...(options.prune ? { checkpointEvery: { entries: 5 }, retainEntries: 3 } : {}),
  });
  for (let i = 0; i < 20; i++) {
    await engine.write('projects/1', (tx) => tx.set(`/k${i % 4}`, i));
    // Checkpoints (and pruning) run in the background: wait for each, so every one is taken.
    if (options.prune) await engine.flush();
  }
  await engine.record('projects/1', { type: 'event', name: 'tool-output', data: { ok: true } });
  await engine.write('projects/2', (tx) => tx.set('/title', 'two'));
  await engine.write('other', (tx) => tx.set('/x', 1));
  await engine.flush();
  await engine.close();
}

describe('backup archive', () => {
  it('round-trips selected documents with identical history, through a store that only appends', async () => {
    const source = new MemoryUpdateLog();
    await populate(source);
    const progress: string[] = [];
    const archive = await bytesOf(
      writeArchive(source, { docs: 'projects/*', onProgress: (p) => progress.push(p.docId) }),
    );
    expect(progress).toEqual(['projects/1', 'projects/2']);
    const target = new MemoryUpdateLog();
    const counts = await restoreArchive(() => once(archive), appendOnly(target));
    expect(counts.docs).toBe(2);
    expect((await target.docIds()).sort()).toEqual(['projects/1', 'projects/2']);
    expect(await history(target, 'projects/1')).toEqual(await history(source, 'projects/1'));
    expect(await target.read('projects/1')).toEqual(await source.read('projects/1'));
  });

  it('restores pruned history at its original seqs into stores that support it', async () => {
    const source = new MemoryUpdateLog();
    await populate(source, { prune: true });
    expect((await source.read('projects/1'))[0]?.seq).toBeGreaterThan(1);
    const archive = await bytesOf(writeArchive(source));
    const target = new MemoryUpdateLog();
    await restoreArchive(() => once(archive), target);
    expect(await target.head('projects/1')).toBe(await source.head('projects/1'));
    expect(await history(target, 'projects/1')).toEqual(await history(source, 'projects/1'));
    const appendsOnly = new MemoryUpdateLog();
    await expect(restoreArchive(() => once(archive), appendOnly(appendsOnly))).rejects.toMatchObject({
      code: ErrorCode.INVALID_CONFIG,
    });
    // A store that cannot keep the seqs refuses before writing anything.
    expect(await appendsOnly.docIds()).toEqual([]);
  });

  it('backs up encrypted entries unchanged; restoring needs the keys to read them', async () => {
    const inner = new MemoryUpdateLog();
    const options = { encryption: { keys: { k1: new Uint8Array(32).fill(3) }, currentKeyId: 'k1' } };
    await populate(withCodecs(inner, options));
    const archive = await bytesOf(writeArchive(inner));
    const restored = new MemoryUpdateLog();
    await restoreArchive(() => once(archive), restored);
    expect(await restored.read('other')).toEqual(await inner.read('other'));
    expect((await restored.read('other'))[0]?.keyId).toBe('k1');
    const engine = new Engine({ log: withCodecs(restored, options) });
    expect((await engine.stateAt('other', { seq: 1 })).json).toEqual({ x: 1 });
    await engine.close();
  });

  it('refuses corrupt, truncated and foreign archives before writing anything, and non-empty targets', async () => {
    const source = new MemoryUpdateLog();
    await populate(source);
    const archive = await bytesOf(writeArchive(source));
    const flipped = new Uint8Array(archive);
    flipped[Math.floor(archive.length / 2)] = (flipped[Math.floor(archive.length / 2)] as number) ^ 0xff;
    const truncated = archive.subarray(0, archive.length - 40);
    const cut = archive.subarray(0, Math.floor(archive.length * 0.6));
    for (const bad of [flipped, truncated, cut, new TextEncoder().encode('PK\u0003\u0004 not ours')]) {
      const target = new MemoryUpdateLog();
      await expect(restoreArchive(() => once(bad), target)).rejects.toMatchObject({
        code: ErrorCode.CORRUPT_ARCHIVE,
      });
      expect(await target.docIds()).toEqual([]);
    }
    await expect(async () => {
      for await (const _ of readArchive(once(cut))) {
        // reading stops at the first problem
      }
    }).rejects.toThrow(/incomplete|middle of a record/);
    const occupied = new MemoryUpdateLog();
    await occupied.append('other', [
      { kind: 'update', time: 1, origin: 'x', flags: 0, payload: new Uint8Array([0, 0]) },
    ]);
    await expect(restoreArchive(() => once(archive), occupied)).rejects.toMatchObject({
      code: ErrorCode.DOCUMENT_EXISTS,
    });
    expect(await occupied.docIds()).toEqual(['other']);
  });
});
