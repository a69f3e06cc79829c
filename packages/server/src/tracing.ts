/** OpenTelemetry spans around append, apply and broadcast: no-ops unless the application registers an SDK. */

import { type Attributes, ProxyTracerProvider, type Span, SpanStatusCode, trace } from '@opentelemetry/api';

const tracer = trace.getTracer('@ystate/server');

/** What the global provider delegates to until an application registers an SDK. */
const NO_SDK = new ProxyTracerProvider().getDelegate();

/**
 * Whether an SDK is registered (asked on every call: an application may register one at any time).
 * Without one a span records nothing, and making it would cost each update a span, a context and
 * a closure on the hot path.
 */
function tracing(): boolean {
  const provider = trace.getTracerProvider();
  return !(provider instanceof ProxyTracerProvider) || provider.getDelegate() !== NO_SDK;
}

/** Runs `fn` in a span, recording its error (and rethrowing it). */
export function inSpan<T>(name: string, attributes: Attributes, fn: () => Promise<T>): Promise<T> {
  if (!tracing()) return fn();
  return tracer.startActiveSpan(name, { attributes }, async (span) => {
    try {
      return await fn();
    } catch (error) {
      fail(span, error);
      throw error;
    } finally {
      span.end();
    }
  });
}

/** Runs a synchronous `fn` in a span. */
export function inSpanSync<T>(name: string, attributes: Attributes, fn: () => T): T {
  if (!tracing()) return fn();
  return tracer.startActiveSpan(name, { attributes }, (span) => {
    try {
      return fn();
    } catch (error) {
      fail(span, error);
      throw error;
    } finally {
      span.end();
    }
  });
}

function fail(span: Span, error: unknown): void {
  span.recordException(error instanceof Error ? error : String(error));
  span.setStatus({
    code: SpanStatusCode.ERROR,
    message: error instanceof Error ? error.message : String(error),
  });
}
