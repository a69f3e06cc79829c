/**
 * OpenTelemetry spans: recorded once an application registers a tracer provider (at any time),
 * and not made at all without one. The provider here implements `@opentelemetry/api`'s
 * `TracerProvider` contract, which every SDK implements; it records the names of ended spans.
 */

import {
  type Context,
  context,
  type Span,
  type SpanContext,
  type SpanOptions,
  type Tracer,
  type TracerProvider,
  trace,
} from '@opentelemetry/api';
import { afterEach, describe, expect, it } from 'vitest';
import { connect, startServer, synced, until } from './helpers.js';

/** A tracer provider that records the name of every span that ends. */
class RecordingProvider implements TracerProvider {
  readonly ended: string[] = [];

  getTracer(): Tracer {
    const ended = this.ended;
    const startSpan = (name: string, _options?: SpanOptions, _context?: Context): Span => {
      const spanContext: SpanContext = { traceId: '1'.repeat(32), spanId: '2'.repeat(16), traceFlags: 1 };
      const span: Span = {
        spanContext: () => spanContext,
        setAttribute: () => span,
        setAttributes: () => span,
        addEvent: () => span,
        addLink: () => span,
        addLinks: () => span,
        setStatus: () => span,
        updateName: () => span,
        end: () => void ended.push(name),
        isRecording: () => true,
        recordException: () => undefined,
      };
      return span;
    };
    const startActiveSpan = (name: string, ...rest: unknown[]) => {
      const fn = rest.at(-1) as (span: Span) => unknown;
      const span = startSpan(name);
      return context.with(trace.setSpan(context.active(), span), () => fn(span));
    };
    return { startSpan, startActiveSpan } as Tracer;
  }
}

afterEach(() => {
  trace.disable();
});

describe('tracing', () => {
  it('records receive and broadcast spans once a provider is registered, after the server started', async () => {
    const { ws } = await startServer();
    const alice = connect(ws, 'traced');
    const bob = connect(ws, 'traced');
    await Promise.all([synced(alice), synced(bob)]);

    // Before any provider: nothing to record, and the updates still flow.
    alice.map.set('before', 1);
    await until(bob.doc, (doc) => doc.getMap('state').get('before') === 1);

    const provider = new RecordingProvider();
    expect(trace.setGlobalTracerProvider(provider)).toBe(true);
    alice.map.set('after', 2);
    await until(bob.doc, (doc) => doc.getMap('state').get('after') === 2);
    await expect
      .poll(() => provider.ended)
      .toEqual(expect.arrayContaining(['ystate.receive', 'ystate.broadcast']));
    expect(provider.ended.filter((name) => name === 'ystate.receive')).toHaveLength(1);

    // Unregistered again: no more spans.
    trace.disable();
    const count = provider.ended.length;
    alice.map.set('later', 3);
    await until(bob.doc, (doc) => doc.getMap('state').get('later') === 3);
    expect(provider.ended).toHaveLength(count);
  });
});
