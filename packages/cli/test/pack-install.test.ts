/**
 * The packages as users get them: `npm pack` every package, install the tarballs into an empty
 * project (third-party dependencies from the registry, quick from npm's cache), import every
 * entry point, and start `npx ystate serve` from there until it answers /healthz.
 */

import { execFile, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, type LogRecord, tempDir, waitFor } from './cli-process.js';

const run = promisify(execFile);
const REPO_ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const PACKAGES = readdirSync(join(REPO_ROOT, 'packages')).sort();
const LICENSE = readFileSync(join(REPO_ROOT, 'LICENSE'), 'utf8');

interface Manifest {
  name: string;
  private?: boolean;
  engines?: { node?: string };
  exports: Record<string, Record<string, string>>;
}

let scratch: Awaited<ReturnType<typeof tempDir>>;
let project: string;
/** Package name → the files of its tarball (without the `package/` prefix). */
const contents = new Map<string, string[]>();
const manifests = new Map<string, Manifest>();

beforeAll(async () => {
  assertBuilt();
  scratch = await tempDir('ystate-pack-');
  const tarballs = join(scratch.path, 'tarballs');
  await mkdir(tarballs);
  const { stdout } = await run(
    'npm',
    [
      'pack',
      '--json',
      '--pack-destination',
      tarballs,
      ...PACKAGES.flatMap((dir) => ['--workspace', `packages/${dir}`]),
    ],
    { cwd: REPO_ROOT, maxBuffer: 64 << 20 },
  );
  const packed = JSON.parse(stdout) as { name: string; filename: string; files: { path: string }[] }[];
  for (const tarball of packed)
    contents.set(
      tarball.name,
      tarball.files.map((file) => file.path),
    );

  project = join(scratch.path, 'project');
  await mkdir(project);
  await writeFile(
    join(project, 'package.json'),
    JSON.stringify({ name: 'pack-install-check', private: true, type: 'module' }),
  );
  await run(
    'npm',
    [
      'install',
      '--no-audit',
      '--no-fund',
      '--prefer-offline',
      ...packed.map((tarball) => join(tarballs, tarball.filename)),
    ],
    { cwd: project, maxBuffer: 64 << 20 },
  );
  for (const name of contents.keys()) {
    manifests.set(
      name,
      JSON.parse(readFileSync(join(project, 'node_modules', name, 'package.json'), 'utf8')) as Manifest,
    );
  }
}, 240_000);

afterAll(async () => {
  await scratch?.remove();
});

describe('npm pack', () => {
  it('packs every package, each with its LICENSE, a README and no tests, fixtures or build info', () => {
    expect([...contents.keys()].length).toBe(PACKAGES.length);
    for (const [name, files] of contents) {
      expect(files, name).toContain('LICENSE');
      expect(files, name).toContain('README.md');
      expect(files, name).toContain('package.json');
      expect(
        files.filter(
          (file) => /\.test\.|(^|\/)(test|fixtures)\//.test(file) || file.endsWith('.tsbuildinfo'),
        ),
        name,
      ).toEqual([]);
      expect(readFileSync(join(project, 'node_modules', name, 'LICENSE'), 'utf8'), name).toBe(LICENSE);
    }
  });

  it('declares the supported Node versions and lists `types` first in every export', () => {
    for (const [name, manifest] of manifests) {
      expect(manifest.engines?.node, name).toBe('>=20.19');
      for (const [entry, conditions] of Object.entries(manifest.exports)) {
        expect(Object.keys(conditions)[0], `${name} ${entry}`).toBe('types');
        for (const target of Object.values(conditions)) {
          expect(contents.get(name), `${name} ${entry} → ${target}`).toContain(target.replace(/^\.\//, ''));
        }
      }
    }
  });
});

describe('installed from the tarballs', () => {
  it('imports every entry point of every package', async () => {
    // The testing entry points need the optional peers vitest and fast-check, which users add themselves.
    const entries = [...manifests].flatMap(([name, manifest]) =>
      Object.keys(manifest.exports)
        .filter((entry) => !entry.includes('testing'))
        .map((entry) => (entry === '.' ? name : `${name}/${entry.slice(2)}`)),
    );
    expect(entries).toContain('@ystate/core');
    const script = `for (const name of ${JSON.stringify(entries)}) {
      const module = await import(name);
      if (Object.keys(module).length === 0) throw new Error(name + ' exports nothing');
    }`;
    await run(process.execPath, ['--input-type=module', '-e', script], { cwd: project });
  });

  it('runs `npx ystate serve` until it answers /healthz, and stops it', async () => {
    const npx = spawn('npx', ['--no-install', 'ystate', 'serve', '--port', '0', '--data', './data'], {
      cwd: project,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const records: LogRecord[] = [];
    let stdout = '';
    let stderr = '';
    npx.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      for (const line of stdout.split('\n').slice(records.length, -1)) {
        records.push(line.startsWith('{') ? (JSON.parse(line) as LogRecord) : { level: 0, msg: line });
      }
    });
    npx.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const exited = new Promise((resolve) => npx.once('exit', resolve));
    try {
      const listening = await waitFor(
        () => records.find((record) => typeof record.url === 'string'),
        'the URL line of npx ystate serve',
        30_000,
      ).catch((error: unknown) => {
        throw new Error(`${String(error)}\nstdout:\n${stdout}\nstderr:\n${stderr}`);
      });
      const response = await fetch(`${listening.url as string}/healthz`);
      expect(response.status).toBe(200);
      const serverPid = listening.pid as number;
      npx.kill('SIGTERM');
      await exited;
      await waitFor(
        () => {
          try {
            process.kill(serverPid, 0);
            return undefined;
          } catch {
            return true;
          }
        },
        'the server to stop',
        10_000,
      );
    } finally {
      npx.kill('SIGKILL');
    }
  }, 60_000);
});
