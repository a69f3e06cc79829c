import { HttpAgent, runHttpRequest, transformHttpEventStream } from '@ag-ui/client';
import { type BaseEvent, EventType } from '@ag-ui/core';
import { buildCheckpoint, Engine, type Json, MemoryUpdateLog } from '@ystate/core';
import { startAgent } from '@ystate/example-agui-agent';
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

/** What retention (`ystate compact --retain N`) does: a checkpoint where the kept history starts, then a prune. */
async function retainOnly(engine: Engine, docId: string, entries: number): Promise<void> {
  const head = await engine.log.head(docId);
  const start = head - entries;
  await engine.log.storeCheckpoint(docId, await buildCheckpoint(engine.log, docId, start, 'test'));
  await engine.log.prune(docId, start + 1);
  expect(await engine.log.read(docId, { from: 1, to: start })).toEqual([]);
  expect((await engine.log.latestCheckpoint(docId, start - 1))?.seq).toBeUndefined();
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
    await start();
    await tenWrites();
    for (let i = 0; i < 30; i++) await engine.write('d', (tx) => tx.set('/meta/n', i));
    await engine.flush();
    const head = await engine.log.head('d');
    await retainOnly(engine, 'd', 2);
    const [event] = await eventsUntil(server.docUrl('d', 'events'), { 'last-event-id': '1' }, head);
    expect(event?.type).toBe(EventType.STATE_SNAPSHOT);
    expect(seqOfEvent(event as BaseEvent)).toBe(head);
    expect((event as unknown as { snapshot: Json }).snapshot).toEqual(
      (await engine.stateAt('d', { seq: head })).json,
    );
  });

  it('answers a snapshot to a client ahead of this node (it came from another node)', async () => {
    await start();
    await tenWrites();
    const head = await engine.log.head('d');
    const [event] = await eventsUntil(
      server.docUrl('d', 'events'),
      { 'last-event-id': String(head + 50) },
      head,
    );
    expect(event?.type).toBe(EventType.STATE_SNAPSHOT);
    expect(seqOfEvent(event as BaseEvent)).toBe(head);
  });

  it('sends nothing when the client is up to date, then the next change', async () => {
    await start();
    await tenWrites();
    const head = await engine.log.head('d');
    const events = await resumedThenLive(server.docUrl('d', 'events'), { 'last-event-id': String(head) });
    expect(events.map((event) => [event.type, seqOfEvent(event)])).toEqual([
      [EventType.STATE_DELTA, head + 1],
    ]);
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

  it('GET /events read with @ag-ui/client’s own transport resumes with the Last-Event-ID header', async () => {
    await start();
    const seqs = await tenWrites();
    const since = seqs[4] as number;
    const controller = new AbortController();
    const events: BaseEvent[] = [];
    const head = seqs.at(-1) as number;
    await new Promise<void>((resolve, reject) => {
      const subscription = transformHttpEventStream(
        runHttpRequest(() =>
          fetch(server.docUrl('d', 'events'), {
            headers: { 'Last-Event-ID': String(since) },
            signal: controller.signal,
          }),
        ),
      ).subscribe({
        next: (event) => {
          events.push(event);
          if (seqOfEvent(event) >= head) {
            subscription.unsubscribe();
            controller.abort();
            resolve();
          }
        },
        error: reject,
      });
    });
    expect(events.map((event) => event.type)).toEqual([EventType.STATE_DELTA]);
    let state: Json = (await engine.stateAt('d', { seq: since })).json;
    for (const event of events) state = apply(state, event);
    expect(state).toEqual((await engine.stateAt('d', { seq: head })).json);
  });
});

describe('resuming a run through the AG-UI proxy', () => {
  /** Serves the proxy in front of examples/agui-agent; `pause` runs while the agent "thinks". */
  async function startProxy(pause?: () => Promise<void>): Promise<() => Promise<void>> {
    engine = new Engine({ log: new MemoryUpdateLog(), nodeId: 'n', idleTimeoutMs: 60_000 });
    const agent = await startAgent(pause === undefined ? {} : { pause });
    server = await serveRoutes(aguiRoutes(engine, { proxy: { upstream: agent.url } }));
    return agent.close;
  }

  /** A frontend's HttpAgent on the proxy, and the seq of the last state event it applied. */
  function frontend(): { agent: HttpAgent; seqs: number[] } {
    const agent = new HttpAgent({ url: server.docUrl('d', 'agui') });
    const seqs: number[] = [];
    agent.subscribe({
      onEvent: ({ event }) => {
        if (event.type === EventType.STATE_SNAPSHOT || event.type === EventType.STATE_DELTA) {
          seqs.push(seqOfEvent(event));
        }
      },
    });
    return { agent, seqs };
  }

  async function stateNow(): Promise<Json> {
    return (await engine.stateAt('d', { seq: await engine.log.head('d') })).json;
  }

  it('Last-Event-ID or forwardedProps.ystate.since: the changes since then, then the run’s, nothing lost or repeated', async () => {
    let personWrites = false;
    const closeAgent = await startProxy(async () => {
      // While the agent thinks, a person edits the same list.
      if (personWrites) await engine.write('d', (tx) => tx.insert('/todos/0', 'from a person'));
    });
    try {
      await tenWrites();
      const { agent, seqs } = frontend();
      const types: string[][] = [];
      const run = async (props: Record<string, unknown>) => {
        const run: string[] = [];
        types.push(run);
        await agent.runAgent(
          { forwardedProps: { todos: ['by the agent'], ...props } },
          { onEvent: ({ event }) => void run.push(event.type) },
        );
      };
      await run({});
      expect(types[0]).toContain(EventType.STATE_SNAPSHOT);
      expect(agent.state).toEqual(await stateNow());

      // Changes while no run is open, and during the next one: it resumes from the seq the frontend has.
      for (let i = 0; i < 5; i++) await engine.write('d', (tx) => tx.set('/meta/n', 50 + i));
      personWrites = true;
      agent.headers = { ...agent.headers, 'Last-Event-ID': String(seqs.at(-1)) };
      await run({});
      delete agent.headers['Last-Event-ID'];
      await engine.write('d', (tx) => tx.set('/other', 'between runs'));
      await run({ ystate: { since: seqs.at(-1) } });

      for (const resumed of types.slice(1)) {
        expect(resumed).not.toContain(EventType.STATE_SNAPSHOT);
        expect(resumed).toContain(EventType.STATE_DELTA);
      }
      // Every state event moved the frontend forward (none repeated), and its state is the document.
      for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBeGreaterThan(seqs[i - 1] as number);
      const state = await stateNow();
      expect(agent.state).toEqual(state);
      expect(seqs.at(-1)).toBe(await engine.log.head('d'));
      const todos = (state as { todos: unknown[] }).todos;
      expect(todos.filter((todo) => todo === 'from a person')).toHaveLength(2);
      expect(todos.filter((todo) => (todo as { title?: string }).title === 'by the agent')).toHaveLength(3);
    } finally {
      await closeAgent();
    }
  });

  it('a resume older than the retained history gets a snapshot', async () => {
    const closeAgent = await startProxy();
    try {
      await tenWrites();
      for (let i = 0; i < 30; i++) await engine.write('d', (tx) => tx.set('/meta/n', i));
      await engine.flush();
      await retainOnly(engine, 'd', 2);
      const { agent } = frontend();
      const types: string[] = [];
      agent.headers = { ...agent.headers, 'Last-Event-ID': '1' };
      await agent.runAgent({}, { onEvent: ({ event }) => void types.push(event.type) });
      expect(types.filter((type) => type.startsWith('STATE_'))[0]).toBe(EventType.STATE_SNAPSHOT);
      expect(agent.state).toEqual(await stateNow());
    } finally {
      await closeAgent();
    }
  });

  it('refuses a resume point that is not a seq with 400 INVALID_VALUE, before the agent runs', async () => {
    let runs = 0;
    const closeAgent = await startProxy(async () => {
      runs++;
    });
    try {
      const response = await fetch(server.docUrl('d', 'agui'), {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'last-event-id': 'x' },
        body: JSON.stringify({ threadId: 't', runId: 'r', state: {}, messages: [], tools: [], context: [] }),
      });
      expect(response.status).toBe(400);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('INVALID_VALUE');
      expect(runs).toBe(0);
      expect(await engine.log.head('d')).toBe(0);
    } finally {
      await closeAgent();
    }
  });
});
