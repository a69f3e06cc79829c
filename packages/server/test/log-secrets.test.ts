/** Secrets never reach the logs: tokens in query strings, Authorization and cookie headers. */

import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { capturingLogger, fetchJson, startServer } from './helpers.js';

const secret = 'a-test-secret-of-reasonable-length';

describe('secrets in logs', () => {
  it('a request with ?token=<jwt> that ends in INTERNAL_ERROR logs its path, never the token or the headers', async () => {
    const { logger, lines } = capturingLogger();
    const { http } = await startServer({
      auth: { secret },
      logger,
      routes: [
        {
          method: 'GET',
          path: '/api/docs/:docId/boom',
          access: 'read',
          async handler() {
            throw new Error('a bug in a route');
          },
        },
      ],
    });
    const jwt = await new SignJWT({ ystate: { docs: { '**': 'read' } } })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('alice')
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(secret));
    const answer = await fetchJson(`${http}/api/docs/doc/boom?path=/a&token=${jwt}`, {
      headers: { authorization: `Bearer ${jwt}`, cookie: 'session=cookie-secret-value' },
    });
    expect(answer).toMatchObject({ status: 500, body: { error: { code: 'INTERNAL_ERROR' } } });

    const failure = lines.map((line) => JSON.parse(line)).find((record) => record.msg === 'request failed');
    expect(failure).toMatchObject({ level: 50, url: '/api/docs/doc/boom?path=***&token=***' });
    const output = lines.join('');
    for (const part of jwt.split('.')) expect(output).not.toContain(part);
    expect(output).not.toContain('cookie-secret-value');
  });
});
