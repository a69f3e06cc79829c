/** OpenTelemetry spans around append, apply and broadcast: no-ops unless the application registers an SDK. */

import { type Attributes, type Span, SpanStatusCode, trace } from '@opentelemetry/api';

const tracer = trace.getTracer('@ystate/server');

/** Runs `fn` in a span, recording its error (and rethrowing it). */
export async function inSpan<T>(name: string, attributes: Attributes, fn: () => Promise<T>): Promise<T> {
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
