import { HttpAgent } from '@ag-ui/client';
import { type BaseEvent, EventType } from '@ag-ui/core';
import { Engine, type Json, MemoryUpdateLog } from '@ystate/core';
import fastJsonPatch from 'fast-json-patch';
import { afterEach, describe, expect, it } from 'vitest';
import { aguiRoutes } from '../src/index.js';
import { jsonAt, readSse, seqOfEvent, serveRoutes, type TestServer } from './helpers.js';

let engine: Engine;
let server: TestServer;

async function start(
  options: ConstructorParameters<typeof Engine>[0] | undefined = undefined,
): Promise<void> {
  engine = new Engine(options ?? { log: new MemoryUpdateLog(), nodeId: 'n', idleTimeoutMs: 60_000 });
  server = await serveRoutes(aguiRoutes(engine, { idleMs: 200 }));
}
afterEach(async () => {
  await server.close();
  await engine.close();
});

/** Ten writes to `d`; returns the seq after each. */
async function tenWrites(): Promise<number[]> {
  const seqs: number[] = [];
  const first = await engine.write('d', (tx) =>
    tx.set('', { todos: [], meta: { n: 0 }, other: 'x', pad: 'p'.repeat(1000) }),
  );
  seqs.push(first.seq);
  for (let i = 1; i < 10; i++) {
    const { seq } = await engine.write('d', (tx) => {
      if (i % 3 === 0) tx.set('/other', `y${i}`);
      else if (i % 3 === 1) tx.set('/meta/n', i);
      else tx.insert('/todos/0', `t${i}`);
    });
    seqs.push(seq);
  }
  return seqs;
}

/** The events of `/events` up to (and including) the first whose seq is `head`. */
async function eventsUntil(url: string, headers: Record<string, string>, head: number): Promise<BaseEvent[]> {
  const response = await fetch(url, { headers });
  expect(response.status).toBe(200);
  return readSse(response, (event) => seqOfEvent(event) >= head);
}

/** Opens `/events`, then writes to every subtree (live, after the resume): the events up to that write. */
async function resumedThenLive(url: string, headers: Record<string, string>): Promise<BaseEvent[]> {
  const response = await fetch(url, { headers });
  expect(response.status).toBe(200);
  const { seq } = await engine.write('d', (tx) => {
    tx.set('/meta/live', true);
    tx.push('/todos', 'live');
    tx.set('/other', 'live');
  });
  return readSse(response, (event) => seqOfEvent(event) >= seq);
}

function apply(state: Json, event: BaseEvent): Json {
  if (event.type === EventType.STATE_SNAPSHOT) return (event as unknown as { snapshot: Json }).snapshot;
  const delta = (event as unknown as { delta: fastJsonPatch.Operation[] }).delta;
  return fastJsonPatch.applyPatch(structuredClone(state), delta, true, false).newDocument as Json;
}

describe('resuming a stream from the seq a client has', () => {
  it('GET /events with Last-Event-ID (or ?since=) answers the changes since then as deltas, for the document and subtrees', async () => {
    await start();
    const seqs = await tenWrites();
    for (const path of ['', '/meta', '/todos']) {
      for (const since of [0, ...seqs]) {
        const query = `?path=${encodeURIComponent(path)}`;
        for (const resume of ['header', 'query']) {
          const had =
            jsonAt(since === 0 ? {} : (await engine.stateAt('d', { seq: since })).json, path) ?? null;
          const events =
            resume === 'header'
              ? await resumedThenLive(server.docUrl('d', `events${query}`), {
                  'last-event-id': String(since),
                })
              : await resumedThenLive(server.docUrl('d', `events${query}&since=${since}`), {});
          let state = had;
          let last = since;
          for (const event of events) {
            // No snapshot: the log holds every change since `since` (from 0 the delta is the whole document).
            if (path === '' && since > 0) expect(event.type).toBe(EventType.STATE_DELTA);
            expect(seqOfEvent(event)).toBeGreaterThan(last);
            last = seqOfEvent(event);
            state = apply(state, event);
          }
          expect(state).toEqual(jsonAt((await engine.stateAt('d', { seq: last })).json, path) ?? null);
        }
      }
    }
  });

  it('continues live after the resumed delta with nothing lost or repeated', async () => {
    await start();
    const seqs = await tenWrites();
    const response = await fetch(server.docUrl('d', 'events'), {
      headers: { 'last-event-id': String(seqs[2]) },
    });
    const later = (async () => {
      for (let i = 0; i < 20; i++) await engine.write('d', (tx) => tx.set('/meta/n', 100 + i));
    })();
    let state: Json = (await engine.stateAt('d', { seq: seqs[2] as number })).json;
    let last = seqs[2] as number;
    const events = await readSse(response, (event) => {
      const seq = seqOfEvent(event);
      expect(seq).toBeGreaterThan(last);
      last = seq;
      state = apply(state, event);
      return jsonAt(state, '/meta/n') === 119;
    });
    await later;
    expect(events.every((event) => event.type === EventType.STATE_DELTA)).toBe(true);
    expect(state).toEqual((await engine.stateAt('d', { seq: last })).json);
  });

  it('answers a snapshot when the history since then is no longer retained', async () => {
    await start({
      log: new MemoryUpdateLog(),
      nodeId: 'n',
      idleTimeoutMs: 60_000,
      checkpointEvery: { entries: 5, bytes: 1, sizeFraction: 0 },
      retainEntries: 2,
    });
    await tenWrites();
    for (let i = 0; i < 30; i++) await engine.write('d', (tx) => tx.set('/meta/n', i));
    await engine.flush();
    const head = await engine.log.head('d');
    const [first] = await engine.log.read('d', { from: 1, to: 1 });
    expect(first).toBeUndefined(); // pruned
    const [event] = await eventsUntil(server.docUrl('d', 'events'), { 'last-event-id': '1' }, head);
    expect(event?.type).toBe(EventType.STATE_SNAPSHOT);
    expect(seqOfEvent(event as BaseEvent)).toBe(head);
    expect((event as unknown as { snapshot: Json }).snapshot).toEqual(
      (await engine.stateAt('d', { seq: head })).json,
    );
  });

  it('refuses a resume point that is not a seq with 400 INVALID_VALUE', async () => {
    await start();
    for (const [query, headers] of [
      ['?since=abc', {}],
      ['?since=-1', {}],
      ['', { 'last-event-id': '1.5' }],
    ] as const) {
      const response = await fetch(server.docUrl('d', `events${query}`), { headers });
      expect(response.status).toBe(400);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('INVALID_VALUE');
    }
  });

  it('a plain @ag-ui/client HttpAgent resumes a run with the Last-Event-ID header or forwardedProps.ystate.since', async () => {
    await start();
    const seqs = await tenWrites();
    const agent = new HttpAgent({ url: server.docUrl('d', 'agui') });
    let lastSeq = 0;
    agent.subscribe({
      onEvent: ({ event }) => {
        if (event.metadata !== undefined) lastSeq = seqOfEvent(event);
      },
    });
    await agent.runAgent({ forwardedProps: { ystate: { idleMs: 0 } } });
    expect(agent.state).toEqual((await engine.stateAt('d', { seq: seqs.at(-1) as number })).json);
    expect(lastSeq).toBe(seqs.at(-1));

    // Changes while no run is open; the next run resumes from the seq the agent has.
    for (let i = 0; i < 5; i++) await engine.write('d', (tx) => tx.set('/meta/n', 50 + i));
    const types: string[] = [];
    agent.headers = { ...agent.headers, 'Last-Event-ID': String(lastSeq) };
    await agent.runAgent(
      { forwardedProps: { ystate: { idleMs: 100 } } },
      { onEvent: ({ event }) => void types.push(event.type) },
    );
    expect(types).toEqual([EventType.RUN_STARTED, EventType.STATE_DELTA, EventType.RUN_FINISHED]);
    const head = await engine.log.head('d');
    expect(lastSeq).toBe(head);
    expect(agent.state).toEqual((await engine.stateAt('d', { seq: head })).json);

    // The same through forwardedProps.
    delete agent.headers['Last-Event-ID'];
    await engine.write('d', (tx) => tx.set('/other', 'z'));
    types.length = 0;
    await agent.runAgent(
      { forwardedProps: { ystate: { idleMs: 100, since: lastSeq } } },
      { onEvent: ({ event }) => void types.push(event.type) },
    );
    expect(types).toEqual([EventType.RUN_STARTED, EventType.STATE_DELTA, EventType.RUN_FINISHED]);
    expect(agent.state).toEqual((await engine.stateAt('d', { seq: await engine.log.head('d') })).json);
  });
});
