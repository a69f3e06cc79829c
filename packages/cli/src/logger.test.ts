import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.js';

describe('createLogger', () => {
  it.each(['json', 'pretty'] as const)(
    '%s: masks query values, tokens, Authorization and cookies',
    (format) => {
      const out = new PassThrough();
      let text = '';
      out.on('data', (chunk: Buffer) => {
        text += chunk.toString('utf8');
      });
      const logger = createLogger('trace', format, out);
      logger.child({ url: '/api/docs/a/state?token=query-secret' }).error('failed');
      logger.info({
        req: {
          url: '/doc?token=query-secret',
          headers: {
            authorization: 'Bearer header-secret',
            cookie: 'sid=cookie-secret',
            host: 'example.org',
          },
        },
        token: 'payload-secret',
      });
      for (const secret of ['query-secret', 'header-secret', 'cookie-secret', 'payload-secret']) {
        expect(text).not.toContain(secret);
      }
      expect(text).toContain('/api/docs/a/state?token=***');
      expect(text).toContain('example.org');
    },
  );
});
