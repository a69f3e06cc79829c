/**
 * The example's page, bundled with vite and served by vite's preview server, which forwards
 * `/api/*` and `/ws/*` (y-websocket) to a running `ystate serve`. The same page is the rich-text
 * editor of the e2e test (`e2e/collaborative-editing.test.ts`).
 */

import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, preview } from 'vite';

const PAGE = fileURLToPath(new URL('./page/', import.meta.url));

/**
 * Builds the page and serves it on `port` (0: any free port), forwarding to `ystateUrl`.
 *
 * @param {{ ystateUrl: string; port?: number; host?: string; outDir?: string }} options
 * @returns {Promise<{ url: string; close: () => Promise<void> }>}
 */
export async function startPage(options) {
  const outDir = options.outDir ?? (await mkdtemp(join(tmpdir(), 'ystate-collaborative-editing-')));
  const target = options.ystateUrl.replace(/\/$/, '');
  /** @type {import('vite').InlineConfig} */
  const config = {
    root: PAGE,
    base: './',
    logLevel: 'warn',
    configFile: false,
    resolve: { dedupe: ['yjs', 'lib0', 'prosemirror-model', 'prosemirror-state', 'prosemirror-view'] },
    build: { outDir, emptyOutDir: true, target: 'es2022', reportCompressedSize: false },
    preview: {
      port: options.port ?? 0,
      host: options.host ?? '127.0.0.1',
      strictPort: options.port !== undefined && options.port !== 0,
      proxy: {
        '/api': { target },
        '/ws': {
          target: target.replace(/^http/, 'ws'),
          ws: true,
          rewrite: (path) => path.replace(/^\/ws/, ''),
        },
      },
    },
  };
  await build(config);
  const server = await preview(config);
  const address = server.httpServer.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
    close: () => server.close(),
  };
}
