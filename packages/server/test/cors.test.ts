/** CORS: off by default; preflights and actual requests from allowed and refused origins; credentials rules. */

import { describe, expect, it } from 'vitest';
import { createServer } from '../src/index.js';
import { silent, startServer } from './helpers.js';

const APP = 'http://app.example.test:8080';
const EVIL = 'http://evil.example.test';

function preflight(url: string, origin: string, method = 'PATCH'): Promise<Response> {
  return fetch(url, {
    method: 'OPTIONS',
    headers: {
      origin,
      'access-control-request-method': method,
      'access-control-request-headers': 'authorization, content-type, if-match, last-event-id',
    },
  });
}

describe('CORS', () => {
  it('is off by default: no CORS headers, and a preflight is not answered', async () => {
    const { http } = await startServer();
    const answer = await fetch(`${http}/api/docs/d/state`, { headers: { origin: APP } });
    expect(answer.headers.get('access-control-allow-origin')).toBeNull();
    const refused = await preflight(`${http}/api/docs/d/state`, APP);
    expect(refused.status).toBe(405);
    expect(refused.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('answers the preflight of an allowed origin with the methods, headers and max age', async () => {
    const { http } = await startServer({ cors: { origins: [APP, 'http://other.test'] } });
    const answer = await preflight(`${http}/api/docs/projects%2F42/state`, APP);
    expect(answer.status).toBe(204);
    expect(answer.headers.get('access-control-allow-origin')).toBe(APP);
    expect(answer.headers.get('access-control-allow-methods')?.split(', ').sort()).toEqual(
      ['DELETE', 'GET', 'HEAD', 'OPTIONS', 'PATCH', 'POST'].sort(),
    );
    expect(answer.headers.get('access-control-allow-headers')).toBe(
      'Authorization, Content-Type, If-Match, Last-Event-ID, Accept',
    );
    expect(answer.headers.get('access-control-max-age')).toBe('600');
    expect(answer.headers.get('access-control-allow-credentials')).toBeNull();
    expect(answer.headers.get('vary')).toBe('Origin');
  });

  it('refuses the preflight of another origin (403 FORBIDDEN, no CORS headers)', async () => {
    const { http } = await startServer({ cors: { origins: [APP] } });
    const answer = await preflight(`${http}/api/docs/d/state`, EVIL);
    expect(answer.status).toBe(403);
    expect(answer.headers.get('access-control-allow-origin')).toBeNull();
    expect(((await answer.json()) as { error: { code: string } }).error.code).toBe('FORBIDDEN');
  });

  it('lets an allowed origin read answers and their seq headers; another origin gets no CORS headers', async () => {
    const { http } = await startServer({ cors: { origins: [APP] } });
    const patched = await fetch(`${http}/api/docs/d/state`, {
      method: 'PATCH',
      headers: { origin: APP, 'content-type': 'application/json-patch+json' },
      body: JSON.stringify([{ op: 'add', path: '/a', value: 1 }]),
    });
    expect(patched.status).toBe(200);
    expect(patched.headers.get('access-control-allow-origin')).toBe(APP);
    expect(patched.headers.get('access-control-expose-headers')).toBe('ETag, X-Ystate-Seq');
    const error = await fetch(`${http}/api/docs/d/state?path=/none`, { headers: { origin: APP } });
    expect(error.status).toBe(404);
    expect(error.headers.get('access-control-allow-origin')).toBe(APP); // errors are readable too
    const other = await fetch(`${http}/api/docs/d/state`, { headers: { origin: EVIL } });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('"*" allows any origin without credentials; credentials need listed origins', async () => {
    const { http, engine } = await startServer({ cors: { origins: '*' } });
    const answer = await fetch(`${http}/healthz`, { headers: { origin: EVIL } });
    expect(answer.headers.get('access-control-allow-origin')).toBe('*');
    expect(() => createServer({ engine, logger: silent, cors: { origins: '*', credentials: true } })).toThrow(
      expect.objectContaining({ code: 'INVALID_CONFIG' }),
    );
    const { http: withCredentials } = await startServer({ cors: { origins: [APP], credentials: true } });
    const credentialed = await preflight(`${withCredentials}/api/docs/d/state`, APP);
    expect(credentialed.headers.get('access-control-allow-origin')).toBe(APP);
    expect(credentialed.headers.get('access-control-allow-credentials')).toBe('true');
  });

  it('covers the streams of extra routes (their own response head keeps the CORS headers)', async () => {
    const { http } = await startServer({
      cors: { origins: [APP] },
      routes: [
        {
          method: 'GET',
          path: '/api/docs/:docId/events',
          access: 'read',
          async handler(_req, res) {
            res.writeHead(200, { 'content-type': 'text/event-stream' });
            res.end('data: {}\n\n');
          },
        },
      ],
    });
    const answer = await fetch(`${http}/api/docs/d/events`, { headers: { origin: APP } });
    expect(answer.headers.get('content-type')).toBe('text/event-stream');
    expect(answer.headers.get('access-control-allow-origin')).toBe(APP);
  });
});
