/**
 * `npm start`: runs `ystate serve` (the file log in ./.ystate, port 1234) and the example page on
 * http://127.0.0.1:5173. Open the printed address in two windows and type in both.
 */

import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startPage } from './example.mjs';

// The `ystate` executable of the installed package (its entry is dist/index.js, beside bin/).
const bin = fileURLToPath(new URL('../bin/ystate.js', import.meta.resolve('ystate')));
const ystatePort = process.env.YSTATE_PORT ?? '1234';
const serve = spawn(process.execPath, [bin, 'serve', '--port', ystatePort], { stdio: 'inherit' });
const ystateUrl = `http://127.0.0.1:${ystatePort}`;

// Wait until the server answers before serving the page.
for (let i = 0; ; i++) {
  try {
    if ((await fetch(`${ystateUrl}/healthz`)).ok) break;
  } catch {
    // not listening yet
  }
  if (i > 200 || serve.exitCode !== null) throw new Error('ystate serve did not start');
  await new Promise((resolve) => setTimeout(resolve, 50));
}
const page = await startPage({ ystateUrl, port: Number(process.env.PORT ?? 5173) });
process.stdout.write(
  `\nOpen ${page.url}/#notes/demo in two windows and type in both.\n` +
    `The JSON: ${ystateUrl}/api/docs/notes%2Fdemo/state · its history: ${ystateUrl}/api/docs/notes%2Fdemo/history\n`,
);
const stop = async () => {
  await page.close();
  serve.kill('SIGTERM');
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
