/**
 * What the version commands (diff, revert, undo, versions) share: how a point of history is
 * written, and the engine the writing ones (revert, undo, versions --name) write through: the store's log
 * (compressed payloads decoded, as the history commands read them) and its bus, so servers on the
 * same Redis or PostgreSQL see the change at once. A running server holds the file store's lock:
 * stop it, or use the HTTP API (docs/versions.md).
 */

import { Engine, parseVersionPoint, type VersionPoint } from '@ystate/core';
import { z } from 'zod';
import { decodingView } from './retained.js';
import type { OpenedStore } from './store.js';

/** A point: a seq (42), a time (2025-01-31T12:00:00Z, or 13 digits of ms), or a version name. */
export const versionPointSchema = z
  .string()
  .trim()
  .min(1, 'expected a seq, a time or a version name')
  .transform((text): VersionPoint => parseVersionPoint(text));

/** The origin the CLI records its changes under unless `--as` names another. */
export const CLI_ORIGIN = 'ystate-cli';

/** Runs `fn` with an engine over `store`; flushes and closes the engine afterwards. */
export async function withEngine<T>(store: OpenedStore, fn: (engine: Engine) => Promise<T>): Promise<T> {
  const options: ConstructorParameters<typeof Engine>[0] = {
    log: decodingView(store.log),
    nodeId: CLI_ORIGIN,
  };
  if (store.bus !== undefined) options.bus = store.bus;
  const engine = new Engine(options);
  try {
    return await fn(engine);
  } finally {
    await engine.close();
  }
}
