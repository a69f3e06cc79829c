/**
 * Reads what the `y-leveldb` package (y-websocket's persistence) wrote into a LevelDB directory,
 * without changing it: `y-leveldb`'s own `getYDoc` would compact the updates it reads. Keys are
 * y-leveldb's: arrays of strings (tag 0, lib0 varString) and uint32s (tag 1, big-endian), so keys
 * sort by document, then by update clock. A document is listed by its state-vector key
 * `['v1_sv', name]` and holds its updates at `['v1', name, 'update', clock]`; meta keys are not
 * imported. LevelDB is read with `classic-level`, whose prebuilt binaries ship inside the package
 * (no build at install time).
 */

import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ErrorCode, YStateError } from '@ystate/core';
import type { ClassicLevel } from 'classic-level';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import type { MigrationSource } from './source.js';

type KeyPart = string | number;

const STRING = 0;
const UINT32 = 1;
/** Updates per read. */
const BATCH = 1000;

/** y-leveldb's key encoding. */
function encodeKey(parts: readonly KeyPart[]): Uint8Array {
  const encoder = encoding.createEncoder();
  for (const part of parts) {
    if (typeof part === 'string') {
      encoding.writeUint8(encoder, STRING);
      encoding.writeVarString(encoder, part);
    } else {
      encoding.writeUint8(encoder, UINT32);
      encoding.writeUint32BigEndian(encoder, part);
    }
  }
  return encoding.toUint8Array(encoder);
}

function decodeKey(key: Uint8Array): KeyPart[] {
  const decoder = decoding.createDecoder(key);
  const parts: KeyPart[] = [];
  while (decoding.hasContent(decoder)) {
    const tag = decoding.readUint8(decoder);
    parts.push(tag === STRING ? decoding.readVarString(decoder) : decoding.readUint32BigEndian(decoder));
  }
  return parts;
}

/** Update clocks are uint32; y-leveldb's range ends below 2^32 - 1. */
const updateRange = (name: string) => ({
  gte: encodeKey(['v1', name, 'update', 0]),
  lt: encodeKey(['v1', name, 'update', 0xffffffff]),
});

/** Opens the y-leveldb database in `dir`; fails when it does not exist or a server holds it. */
export async function openYLevelDbSource(dir: string): Promise<MigrationSource> {
  const location = resolve(dir);
  // classic-level would create the directory before failing: look for LevelDB's CURRENT file first.
  if (!existsSync(join(location, 'CURRENT')))
    throw new YStateError({
      code: ErrorCode.INVALID_CONFIG,
      message: `cannot read y-leveldb at ${location}: no LevelDB database there (y-websocket's server keeps it in the directory YPERSISTENCE names)`,
    });
  const { ClassicLevel } = await import('classic-level');
  const db: ClassicLevel<Uint8Array, Uint8Array> = new ClassicLevel(location, {
    keyEncoding: 'view',
    valueEncoding: 'view',
    createIfMissing: false,
  });
  try {
    await db.open();
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const why =
      cause?.code === 'LEVEL_LOCKED'
        ? 'another process has it open: stop the y-websocket server first'
        : (cause?.message ?? (error as Error).message);
    throw new YStateError({
      code: ErrorCode.INVALID_CONFIG,
      message: `cannot read y-leveldb at ${location}: ${why}`,
      cause: error,
    });
  }
  return {
    kind: 'y-leveldb',
    description: `y-leveldb at ${location}`,
    async names() {
      const names: string[] = [];
      for await (const key of db.keys({ gte: encodeKey(['v1_sv']), lt: encodeKey(['v1_sw']) })) {
        const name = decodeKey(key)[1];
        if (typeof name === 'string') names.push(name);
      }
      return names;
    },
    async count(name) {
      let count = 0;
      const keys = db.keys(updateRange(name));
      try {
        for (let batch = await keys.nextv(BATCH); batch.length > 0; batch = await keys.nextv(BATCH))
          count += batch.length;
      } finally {
        await keys.close();
      }
      return count;
    },
    async *updates(name) {
      const values = db.values(updateRange(name));
      try {
        for (let batch = await values.nextv(BATCH); batch.length > 0; batch = await values.nextv(BATCH))
          yield batch;
      } finally {
        await values.close();
      }
    },
    describe: (name, index) => `update ${index} of "${name}" in ${location}`,
    close: () => db.close(),
  };
}
