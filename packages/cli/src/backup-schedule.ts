/**
 * Scheduled backups of a running server (`ystate serve --backup-every 1h --backup-dir DIR
 * --backup-keep N`): an archive of every document, written atomically and named by its time, then
 * all but the newest N scheduled archives in the directory are removed. A failed backup is logged
 * and the next one runs on schedule; the server is not affected.
 */

import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { UpdateLog } from '@ystate/core';
import type { Logger } from 'pino';
import { writeArchiveFile } from './archive-file.js';

/** Options of `scheduleBackups`. */
export interface BackupScheduleOptions {
  /** How often, in milliseconds (measured from one start to the next; runs never overlap). */
  everyMs: number;
  /** Where the archives go (created when missing). */
  dir: string;
  /** How many scheduled archives to keep, newest first (default: all). */
  keep?: number;
  logger: Logger;
}

/** A running schedule. */
export interface BackupSchedule {
  /** Stops the schedule; a backup in progress is abandoned (its temp file removed). */
  stop(): Promise<void>;
}

/** The archives the schedule writes: `ystate-2025-01-31T12-00-00.000Z.ystate-backup`. */
const SCHEDULED = /^ystate-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}\.\d{3}Z\.ystate-backup$/;

/** The file name of a scheduled backup started at `time` (sorts by time; no `:` for Windows). */
export function scheduledBackupName(time: number): string {
  return `ystate-${new Date(time).toISOString().replace(/:/g, '-')}.ystate-backup`;
}

/** Starts backing up `log` every `everyMs`; the first backup runs one interval after the start. */
export function scheduleBackups(log: UpdateLog, options: BackupScheduleOptions): BackupSchedule {
  const { everyMs, dir, keep, logger } = options;
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;

  const runOnce = async (): Promise<void> => {
    const started = Date.now();
    const file = join(dir, scheduledBackupName(started));
    try {
      await mkdir(dir, { recursive: true });
      const result = await writeArchiveFile(log, file, { signal: controller.signal });
      logger.info(
        {
          file,
          docs: result.docs,
          entries: result.entries,
          checkpoints: result.checkpoints,
          bytes: result.bytes,
          ms: Date.now() - started,
        },
        'backup written',
      );
      if (keep !== undefined) {
        const removed = await removeOldBackups(dir, keep);
        if (removed.length > 0) logger.info({ dir, removed, keep }, 'removed old backups');
      }
    } catch (error) {
      if (controller.signal.aborted) {
        logger.info({ file }, 'backup abandoned: the server is stopping');
        return;
      }
      logger.error(
        { err: error, dir },
        `scheduled backup failed: ${error instanceof Error ? error.message : String(error)}`,
      );
    } finally {
      if (!controller.signal.aborted) schedule(Math.max(0, started + everyMs - Date.now()));
    }
  };

  const schedule = (delayMs: number): void => {
    timer = setTimeout(() => {
      running = runOnce().finally(() => {
        running = undefined;
      });
    }, delayMs);
  };

  schedule(everyMs);
  return {
    async stop() {
      clearTimeout(timer);
      controller.abort(new Error('the server is stopping'));
      await running;
    },
  };
}

/** Removes all but the newest `keep` scheduled archives in `dir`; other files stay. */
export async function removeOldBackups(dir: string, keep: number): Promise<string[]> {
  const names = (await readdir(dir)).filter((name) => SCHEDULED.test(name)).sort();
  const old = names.slice(0, Math.max(0, names.length - keep));
  for (const name of old) await rm(join(dir, name), { force: true });
  return old;
}
