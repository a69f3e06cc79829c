import { describe, expect, it } from 'vitest';
import { logRedaction, redactRequestUrl } from './log-redaction.js';

describe('redactRequestUrl', () => {
  it('masks every query value and the fragment, keeping the path and the keys', () => {
    expect(redactRequestUrl('/api/docs/a%2Fb/state')).toBe('/api/docs/a%2Fb/state');
    expect(redactRequestUrl('/doc?token=eyJ.x.y')).toBe('/doc?token=***');
    expect(redactRequestUrl('/doc?path=/a&token=t&flag&')).toBe('/doc?path=***&token=***&flag&');
    expect(redactRequestUrl('/doc#access_token=t')).toBe('/doc#***');
    expect(redactRequestUrl('/doc?a=1#b')).toBe('/doc?a=***#***');
  });

  it('masks a key that is not a short name (a bare token), and the password of an absolute URL', () => {
    expect(redactRequestUrl('/doc?eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.sig')).toBe('/doc?***');
    expect(redactRequestUrl('http://user:hunter2@host/doc?x=1')).toBe('http://user:***@host/doc?x=***');
    expect(redactRequestUrl('http://host:1234/')).toBe('http://host:1234/');
  });

  it('the censor masks url fields by that rule and every other redacted field whole', () => {
    expect(logRedaction.censor('/doc?token=t', ['req', 'url'])).toBe('/doc?token=***');
    expect(logRedaction.censor('Bearer t', ['headers', 'authorization'])).toBe('***');
  });
});
