/** JWT auth over WebSocket and HTTP: refusals with their codes, token sources, grants, read-only connections, hooks. */

import { Engine, ErrorCode, MemoryUpdateLog, YStateError } from '@ystate/core';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { createServer, TOKEN_PROTOCOL_PREFIX } from '../src/index.js';
import { encodeUpdate, MessageType } from '../src/protocol.js';
import { connect, fetchJson, patchState, rawClient, startServer, synced, until } from './helpers.js';

const secret = 'a-test-secret-of-reasonable-length';

function token(
  docs: Record<string, 'read' | 'write'>,
  options: { secret?: string; expiresIn?: string | number; sub?: string; audience?: string } = {},
): Promise<string> {
  const jwt = new SignJWT({ ystate: { docs } })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(options.sub ?? 'alice')
    .setIssuedAt()
    .setExpirationTime(options.expiresIn ?? '1h');
  if (options.audience) jwt.setAudience(options.audience);
  return jwt.sign(new TextEncoder().encode(options.secret ?? secret));
}

async function refusedOverWebSocket(url: string): Promise<{ code: number; reason: string; denied: boolean }> {
  const raw = rawClient(url);
  const denied = raw.next(MessageType.auth).then(
    () => true,
    () => false,
  );
  const closed = await raw.closed;
  return { ...closed, denied: await denied };
}

describe('auth', () => {
  it('refuses missing, expired, wrongly signed and wrong-document tokens (WS 4401/4403, HTTP 401/403)', async () => {
    const { ws, http } = await startServer({ auth: { secret } });
    const expired = await token({ '**': 'write' }, { expiresIn: Math.floor(Date.now() / 1000) - 60 });
    const forged = await token({ '**': 'write' }, { secret: 'another-secret-entirely' });
    const otherDoc = await token({ 'projects/1': 'write' });

    expect(await refusedOverWebSocket(`${ws}/projects/2`)).toEqual({
      code: 4401,
      reason: 'UNAUTHORIZED',
      denied: true,
    });
    for (const bad of [expired, forged, 'not.a.jwt']) {
      expect(await refusedOverWebSocket(`${ws}/projects/2?token=${bad}`)).toMatchObject({
        code: 4401,
        reason: 'UNAUTHORIZED',
      });
    }
    // A token for one document never opens another, nor one below it.
    for (const docId of ['projects/2', 'projects/1/tasks', 'projects']) {
      expect(await refusedOverWebSocket(`${ws}/${docId}?token=${otherDoc}`)).toEqual({
        code: 4403,
        reason: 'FORBIDDEN',
        denied: true,
      });
    }

    const state = (docId: string, bearer?: string) =>
      fetchJson(`${http}/api/docs/${encodeURIComponent(docId)}/state`, {
        headers: bearer === undefined ? {} : { authorization: `Bearer ${bearer}` },
      });
    expect(await state('projects/2')).toMatchObject({
      status: 401,
      body: { error: { code: 'UNAUTHORIZED' } },
    });
    expect((await state('projects/2', expired)).body).toMatchObject({
      error: { code: 'UNAUTHORIZED', message: 'the token has expired' },
    });
    expect((await state('projects/2', forged)).body).toMatchObject({
      error: { code: 'UNAUTHORIZED', message: 'the token signature is invalid' },
    });
    expect(await state('projects/2', otherDoc)).toMatchObject({
      status: 403,
      body: { error: { code: 'FORBIDDEN' } },
    });
    expect((await state('projects/1', otherDoc)).status).toBe(200);
  });

  it("closes an open connection with 4401 when its token's exp passes", async () => {
    const { ws } = await startServer({ auth: { secret } });
    const exp = Math.floor(Date.now() / 1000) + 2;
    const lasting = rawClient(`${ws}/doc?token=${await token({ doc: 'write' })}`);
    const expiring = rawClient(`${ws}/doc?token=${await token({ doc: 'write' }, { expiresIn: exp })}`);
    await Promise.all([lasting.opened, expiring.opened]);
    const denied = expiring.next(MessageType.auth);
    expect(await expiring.closed).toEqual({ code: 4401, reason: 'UNAUTHORIZED' });
    // Timers run on a monotonic clock: allow a few ms against the wall clock.
    expect(Date.now()).toBeGreaterThanOrEqual(exp * 1000 - 20);
    await denied;
    expect(lasting.ws.readyState).toBe(lasting.ws.OPEN);
  });

  it('maxTokenAge: a token without exp is refused once that old (from iat), and a connection closes at that age', async () => {
    const { ws, http } = await startServer({ auth: { secret, maxTokenAge: 1 } });
    const sign = (iat?: number) => {
      const jwt = new SignJWT({ ystate: { docs: { '**': 'write' } } })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject('service');
      if (iat !== undefined) jwt.setIssuedAt(iat);
      return jwt.sign(new TextEncoder().encode(secret));
    };
    const state = (jwt: string) =>
      fetchJson(`${http}/api/docs/doc/state`, { headers: { authorization: `Bearer ${jwt}` } });

    const old = await sign(Math.floor(Date.now() / 1000) - 60);
    expect(await state(old)).toMatchObject({
      status: 401,
      body: {
        error: { code: 'UNAUTHORIZED', message: 'the token is older than the maximum token age (1 s)' },
      },
    });
    expect(await refusedOverWebSocket(`${ws}/doc?token=${old}`)).toEqual({
      code: 4401,
      reason: 'UNAUTHORIZED',
      denied: true,
    });

    // Without iat the age counts from the connection: an HTTP request is as old as itself.
    const undated = await sign();
    expect((await state(undated)).status).toBe(200);
    const withExp = rawClient(`${ws}/doc?token=${await token({ doc: 'write' })}`);
    const opened = Date.now();
    const aging = rawClient(`${ws}/doc?token=${undated}`);
    await Promise.all([withExp.opened, aging.opened]);
    expect(await aging.closed).toEqual({ code: 4401, reason: 'UNAUTHORIZED' });
    expect(Date.now() - opened).toBeGreaterThanOrEqual(1000 - 20);
    // A token with exp is governed by its exp alone.
    expect(withExp.ws.readyState).toBe(withExp.ws.OPEN);

    expect(() =>
      createServer({ engine: new Engine({ log: new MemoryUpdateLog() }), auth: { secret, maxTokenAge: 0 } }),
    ).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_CONFIG }));
  });

  it('takes the token from ?token=, the Authorization header, or the ystate.token.<JWT> subprotocol', async () => {
    const { ws } = await startServer({ auth: { secret } });
    const jwt = await token({ 'shared/*': 'write' });

    const byQuery = connect(ws, 'shared/a', { params: { token: jwt } });
    const byProtocol = connect(ws, 'shared/a', { protocols: ['ystate', `${TOKEN_PROTOCOL_PREFIX}${jwt}`] });
    await Promise.all([synced(byQuery), synced(byProtocol)]);
    expect(byProtocol.provider.ws?.protocol).toBe('ystate');
    byQuery.text.insert(0, 'hi');
    await until(byProtocol.doc, () => byProtocol.text.toString() === 'hi');

    const byHeader = rawClient(`${ws}/shared/a`, { headers: { authorization: `Bearer ${jwt}` } });
    await byHeader.opened;
    await byHeader.roundTrip();
  });

  it('a read-only connection syncs and receives updates; its own updates are neither applied nor logged', async () => {
    const { ws, engine, log } = await startServer({ auth: { secret } });
    const writer = connect(ws, 'public/board', { params: { token: await token({ 'public/**': 'write' }) } });
    const readOnly = await token({ 'public/**': 'read' }, { sub: 'viewer' });
    const reader = connect(ws, 'public/board', { params: { token: readOnly } });
    await Promise.all([synced(writer), synced(reader)]);
    writer.text.insert(0, 'announcement');
    await until(reader.doc, () => reader.text.toString() === 'announcement', 'the reader receives updates');
    const head = await log.head('public/board');

    const raw = rawClient(`${ws}/public/board?token=${readOnly}`);
    await raw.opened;
    const edit = new Y.Doc();
    edit.getMap('state').set('defaced', true);
    raw.send(encodeUpdate(Y.encodeStateAsUpdate(edit)));
    await raw.roundTrip();
    expect(await log.head('public/board')).toBe(head);
    expect(await engine.get('public/board', '/defaced')).toBeUndefined();

    // Over HTTP, the same token may read but not write.
    const patched = await patchState(
      ws.replace('ws:', 'http:'),
      'public/board',
      [{ op: 'add', path: '/x', value: 1 }],
      {
        authorization: `Bearer ${readOnly}`,
      },
    );
    expect(patched).toMatchObject({ status: 403, body: { error: { code: 'FORBIDDEN' } } });
    expect(await log.head('public/board')).toBe(head);
  });

  it('verifies tokens signed with a public key or a JWKS, and checks issuer and audience', async () => {
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256' };
    const sign = (audience: string) =>
      new SignJWT({ ystate: { docs: { '**': 'read' } } })
        .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
        .setIssuer('https://issuer.test')
        .setAudience(audience)
        .setExpirationTime('5m')
        .sign(privateKey);
    const good = await sign('ystate');
    const wrongAudience = await sign('someone-else');
    for (const auth of [{ publicKey }, { jwks: { keys: [jwk] } }]) {
      const { http } = await startServer({
        auth: { ...auth, issuer: 'https://issuer.test', audience: 'ystate' },
      });
      const url = `${http}/api/docs/any/state`;
      expect((await fetchJson(url, { headers: { authorization: `Bearer ${good}` } })).status).toBe(200);
      expect(await fetchJson(url, { headers: { authorization: `Bearer ${wrongAudience}` } })).toMatchObject({
        status: 401,
        body: { error: { code: 'UNAUTHORIZED', message: 'the token\'s "aud" claim is not accepted' } },
      });
      // An HMAC token is not accepted by a server that has no secret.
      expect(
        (await fetchJson(url, { headers: { authorization: `Bearer ${await token({ '**': 'write' })}` } }))
          .status,
      ).toBe(401);
    }
  });

  it('refuses tokens whose ystate claim is malformed', async () => {
    const { http } = await startServer({ auth: { secret } });
    const malformed = await new SignJWT({ ystate: { docs: { a: 'admin' } } })
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(secret));
    expect((await fetchJson(`${http}/api/docs/a/state?token=${malformed}`)).status).toBe(401);
  });

  it('onAuthenticate can make a principal (API keys, cookies) or refuse', async () => {
    const { ws, http } = await startServer({
      hooks: {
        onAuthenticate({ request, docId }) {
          const key = new URL(request.url ?? '/', 'http://x').searchParams.get('key');
          if (key !== 'k-123')
            throw new YStateError({ code: ErrorCode.UNAUTHORIZED, message: 'bad API key' });
          return { id: 'service', grants: [{ pattern: 'svc/*', access: 'write' }], claims: { docId } };
        },
      },
    });
    expect((await fetchJson(`${http}/api/docs/svc%2Fa/state?key=k-123`)).status).toBe(200);
    expect(await fetchJson(`${http}/api/docs/svc%2Fa/state?key=wrong`)).toMatchObject({
      status: 401,
      body: { error: { code: 'UNAUTHORIZED', message: 'bad API key' } },
    });
    expect((await fetchJson(`${http}/api/docs/other/state?key=k-123`)).status).toBe(403);
    const client = connect(ws, 'svc/a', { params: { key: 'k-123' } });
    await synced(client);
  });
});
