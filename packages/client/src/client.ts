/**
 * The client of one ystate server: reads (state, history), writes (JSON Patch with an automatic
 * `If-Match`), and subscriptions. It remembers, per document, the seq of the newest state the
 * caller has seen (a read's `X-Ystate-Seq`, a write's answer, a subscription's event) and sends it
 * as the base version of the next patch, so the server interprets positions as the caller meant them.
 */

import { errorOfResponse, networkError, YStateClientError } from './errors.js';
import type { Json, PatchOperation } from './json.js';
import { type SubscribeOptions, Subscription } from './subscription.js';
import { authorizationOf, type TokenSource } from './token.js';

/** How to reach a server. */
export interface ClientOptions {
  /** The server's base URL, e.g. `https://state.example.com` or `http://127.0.0.1:1234`. */
  url: string;
  /** A bearer token, or a function returning a fresh one (called before every request and (re)connection). */
  token?: TokenSource;
  /** The `fetch` to use (default: the global one). */
  fetch?: typeof fetch;
  /** `fetch`'s credentials mode (cookies on another origin need `include` and a CORS allow-list). */
  credentials?: RequestCredentials;
}

/** A read of the state: the JSON and the seq of the state it was read from. */
export interface StateRead {
  value: Json;
  seq: number;
}

/** One entry of a document's history. */
export interface HistoryEntry {
  seq: number;
  /** Milliseconds since the epoch. */
  time: number;
  origin: string;
  kind: 'update' | 'lifecycle' | 'checkpoint';
  /** The JSON Patch that turns the state before the entry into the state after it. */
  patch: PatchOperation[];
  /** A lifecycle entry's event. */
  event?: Json;
}

/** Options of `patch`. */
export interface PatchOptions {
  /**
   * The seq of the state the patch was written against (sent as `If-Match`). Default: the newest
   * seq this client has seen of the document; `null` sends none (the patch applies to the state now).
   */
  baseSeq?: number | null;
  signal?: AbortSignal;
}

/** A ystate server, seen from a browser or Node. */
export class YStateClient {
  private readonly base: string;
  private readonly fetchFn: typeof fetch;
  private readonly seen = new Map<string, number>();

  /** A client of the ystate server at `options.url`. */
  constructor(readonly options: ClientOptions) {
    this.base = options.url.replace(/\/+$/, '');
    this.fetchFn = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  }

  /** The seq of the newest state of `docId` this client has seen (undefined: none yet). */
  seenSeq(docId: string): number | undefined {
    return this.seen.get(docId);
  }

  /** Records that the caller has seen `docId` at `seq` (subscriptions call it for every event). */
  observe(docId: string, seq: number): void {
    if (seq > (this.seen.get(docId) ?? -1)) this.seen.set(docId, seq);
  }

  /**
   * The JSON of a document, or of the subtree at the JSON Pointer `path`; with `at`, as it was at
   * that seq or time (ISO string or Date). PATH_NOT_FOUND when nothing is there.
   */
  async get(
    docId: string,
    options: { path?: string; at?: number | string | Date; signal?: AbortSignal } = {},
  ): Promise<StateRead> {
    const query: Record<string, string> = {};
    if (options.path !== undefined) query.path = options.path;
    if (options.at !== undefined)
      query.at = options.at instanceof Date ? options.at.toISOString() : String(options.at);
    const response = await this.request('GET', this.docUrl(docId, 'state', query), {
      signal: options.signal,
    });
    const seq = seqHeaderOf(response);
    const value = (await readJson(response)) as Json;
    if (options.at === undefined) this.observe(docId, seq);
    return { value, seq };
  }

  /**
   * Applies a JSON Patch (as CRDT operations, merged with whatever others wrote meanwhile); resolves
   * with the seq of the change once the server's log holds it. Refusals reject with the server's
   * code (PATCH_TEST_FAILED, INVALID_PATCH, PATH_NOT_FOUND, FORBIDDEN, …); nothing was applied then.
   */
  async patch(
    docId: string,
    ops: readonly PatchOperation[],
    options: PatchOptions = {},
  ): Promise<{ seq: number }> {
    const baseSeq = options.baseSeq === undefined ? this.seen.get(docId) : options.baseSeq;
    const headers: Record<string, string> = { 'content-type': 'application/json-patch+json' };
    if (baseSeq !== null && baseSeq !== undefined) headers['if-match'] = `"${baseSeq}"`;
    const response = await this.request('PATCH', this.docUrl(docId, 'state'), {
      headers,
      body: JSON.stringify(ops),
      signal: options.signal,
    });
    const body = (await readJson(response)) as { seq?: unknown };
    if (typeof body.seq !== 'number') throw invalidResponse('a PATCH answer without a seq');
    this.observe(docId, body.seq);
    return { seq: body.seq };
  }

  /** The retained history of a document in `from`..`to` (inclusive), each entry with its JSON Patch. */
  async history(
    docId: string,
    options: { from?: number; to?: number; signal?: AbortSignal } = {},
  ): Promise<HistoryEntry[]> {
    const query: Record<string, string> = {};
    if (options.from !== undefined) query.from = String(options.from);
    if (options.to !== undefined) query.to = String(options.to);
    const response = await this.request('GET', this.docUrl(docId, 'history', query), {
      signal: options.signal,
    });
    const body = await readJson(response);
    if (!Array.isArray(body)) throw invalidResponse('a history answer that is not an array');
    return body as HistoryEntry[];
  }

  /**
   * Follows a document (or the subtree at `options.path`) live over SSE: a value, then a change per
   * committed batch, reconnecting by itself and resuming from the last seq it saw (see `Subscription`).
   */
  subscribe(docId: string, options: SubscribeOptions = {}): Subscription {
    return new Subscription(this, docId, options);
  }

  /** The URL of a document's resource (`state`, `history`, `events`, `agui`) with a query. */
  docUrl(docId: string, resource: string, query: Record<string, string> = {}): string {
    const search = new URLSearchParams(query).toString();
    return `${this.base}/api/docs/${encodeURIComponent(docId)}/${resource}${search === '' ? '' : `?${search}`}`;
  }

  /** Sends a request with the token; resolves with a 2xx response, rejects with a `YStateClientError`. */
  async request(
    method: string,
    url: string,
    init: { headers?: Record<string, string>; body?: string; signal?: AbortSignal | undefined } = {},
  ): Promise<Response> {
    const headers = { ...(await authorizationOf(this.options.token)), ...init.headers };
    let response: Response;
    try {
      response = await this.fetchFn(url, {
        method,
        headers,
        ...(init.body === undefined ? {} : { body: init.body }),
        ...(init.signal === undefined ? {} : { signal: init.signal }),
        ...(this.options.credentials === undefined ? {} : { credentials: this.options.credentials }),
      });
    } catch (error) {
      throw networkError(error);
    }
    if (!response.ok) throw await errorOfResponse(response);
    return response;
  }
}

/** A client of the server at `options.url`. */
export function createClient(options: ClientOptions): YStateClient {
  return new YStateClient(options);
}

function seqHeaderOf(response: Response): number {
  const raw = response.headers.get('x-ystate-seq') ?? /\d+/.exec(response.headers.get('etag') ?? '')?.[0];
  const seq = raw === undefined || raw === null ? Number.NaN : Number(raw);
  if (!Number.isInteger(seq)) {
    // Across origins the server must expose the header (its CORS support does).
    throw invalidResponse('an answer without X-Ystate-Seq (across origins, the server must expose it)');
  }
  return seq;
}

async function readJson(response: Response): Promise<unknown> {
  try {
    return await response.json();
  } catch (cause) {
    throw new YStateClientError({
      code: 'INVALID_RESPONSE',
      message: 'the answer is not JSON',
      status: response.status,
      cause,
    });
  }
}

function invalidResponse(what: string): YStateClientError {
  return new YStateClientError({ code: 'INVALID_RESPONSE', message: `the server sent ${what}` });
}
