/**
 * A client that reacts to each refusal of a ystate server, by its code (the `{ "error": { "code" } }`
 * of an HTTP answer, the close reason of a WebSocket; the table is `ErrorCode` in
 * packages/core/src/errors.ts, explained in docs/server.md and docs/troubleshooting.md).
 *
 * - `writePatch(client, docId, ops, options)`: a JSON Patch over HTTP with `@ystate/client`, with
 *   the reaction of `HTTP_REACTIONS` to each refusal; retryable failures (no answer, 408, 429, 5xx:
 *   `error.retryable`) are retried with backoff.
 * - `watchConnection(provider, options)`: a stock y-websocket provider, with the reaction of
 *   `CLOSE_REACTIONS` to each close code; any other close is left to the provider, which reconnects
 *   by itself (a restarting node's 1012, a slow consumer's 4503).
 *
 * Each reaction reports what it did through `onReaction({ code, reaction, … })`.
 */

import { isYStateClientError } from '@ystate/client';

/** What the caller does about each refusal of an HTTP write. */
export const HTTP_REACTIONS = {
  UNAUTHORIZED: 'fetch a fresh token and send again',
  FORBIDDEN: 'give up: the token grants no write on this document; tell the user',
  PATCH_TEST_FAILED: 'read the document again, rebuild the patch from what is there now, send again',
  PATH_NOT_FOUND: 'create the missing parent object, then send again',
  TYPE_MISMATCH: 'give up: the patch treats a value as a container it is not (a caller bug); report it',
  INVALID_PATCH: 'give up: the body is not a JSON Patch (a caller bug); report it',
  MESSAGE_TOO_LARGE: 'split the patch into one patch per operation, sent in order',
  DOCUMENT_TOO_LARGE: 'stop writing to this document and alert an operator (archive it or raise the cap)',
};

/** What a y-websocket client does about each close code (the reason is the error code). */
export const CLOSE_REACTIONS = {
  4401: 'UNAUTHORIZED: disconnect, offer a fresh token, connect again',
  4403: 'FORBIDDEN: disconnect for good (the provider would retry forever); tell the user',
  4413: 'MESSAGE_TOO_LARGE / DOCUMENT_TOO_LARGE: disconnect (the resync would resend the same update); keep the local copy, tell the user',
  4429: 'RATE_LIMITED: batch further edits into fewer transactions; the provider reconnects and resyncs by itself',
  4400: 'INVALID_VALUE / INVALID_UPDATE / INVALID_MESSAGE: disconnect; the local document holds what the server refuses (a bug); report it',
};

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Writes `ops` to `docId`, reacting to refusals; resolves with `{ seq }` (or `{ seqs }` after a
 * split), rejects with the refusal when the reaction is to give up.
 * `options.freshToken()` returns a new token (for UNAUTHORIZED); `options.rebuild(state)` returns
 * the patch to send after a PATCH_TEST_FAILED, given the state as it is now.
 */
export async function writePatch(client, docId, ops, options = {}) {
  const report = options.onReaction ?? (() => {});
  let tokenRefreshed = false;
  let rebuilt = false;
  let parentCreated = false;
  for (let attempt = 0; ; attempt++) {
    try {
      return await client.patch(docId, ops, { baseSeq: null });
    } catch (error) {
      if (!isYStateClientError(error)) throw error;
      const { code } = error;
      const reaction = HTTP_REACTIONS[code];
      if (reaction !== undefined) report({ code, status: error.status, reaction, message: error.message });
      if (code === 'UNAUTHORIZED' && !tokenRefreshed && options.freshToken) {
        tokenRefreshed = true;
        client.options.token = await options.freshToken();
      } else if (code === 'PATCH_TEST_FAILED' && !rebuilt && options.rebuild) {
        rebuilt = true;
        ops = options.rebuild((await client.get(docId)).value);
      } else if (code === 'PATH_NOT_FOUND' && !parentCreated && ops.length > 0) {
        parentCreated = true;
        const parent = ops[0].path.split('/').slice(0, -1).join('/');
        // Two clients doing this at once: the later `add` replaces the earlier object. Where that
        // matters, create containers once, with the document.
        await client.patch(docId, [{ op: 'add', path: parent, value: {} }], { baseSeq: null });
      } else if (code === 'MESSAGE_TOO_LARGE' && ops.length > 1) {
        const seqs = [];
        for (const op of ops) seqs.push((await writePatch(client, docId, [op], options)).seq);
        return { seq: seqs.at(-1), seqs };
      } else if (error.retryable && attempt < 5) {
        report({ code, status: error.status, reaction: `retry in ${100 * 2 ** attempt} ms` });
        await sleep(100 * 2 ** attempt);
      } else throw error;
    }
  }
}

/**
 * The WebSocket subprotocols that carry a token (`ystate` is the one the server selects): a
 * browser cannot set headers on a WebSocket, and a `?token=` ends up in access logs and in
 * y-websocket's own "Permission denied to access URL" warning.
 */
export function tokenProtocols(token) {
  return ['ystate', `ystate.token.${token}`];
}

/**
 * Reacts to the closes of a y-websocket `provider` per `CLOSE_REACTIONS`. `options.freshToken()`
 * returns a new token (for 4401); `options.onReaction` reports; `options.slowDown()` is called on 4429.
 * Returns a function that stops watching.
 */
export function watchConnection(provider, options = {}) {
  const report = options.onReaction ?? (() => {});
  const onClose = async (event) => {
    const code = event?.code;
    const reaction = CLOSE_REACTIONS[code];
    if (reaction === undefined) return; // 1006, 1012 SERVICE_RESTART, 4503, …: the provider reconnects
    report({ code: event.reason || String(code), close: code, reaction });
    if (code === 4401 && options.freshToken) {
      // Hold the provider's own retry until the new token is there, else it retries with the old one.
      provider.disconnect();
      provider.protocols = tokenProtocols(await options.freshToken());
      provider.connect();
    } else if (code === 4429) {
      options.slowDown?.();
    } else if (code !== 4401) {
      provider.disconnect();
    }
  };
  provider.on('connection-close', onClose);
  return () => provider.off('connection-close', onClose);
}
