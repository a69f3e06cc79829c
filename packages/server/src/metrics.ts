/** The server's Prometheus metrics (prom-client), registered on the registry the caller gives or a new one. */

import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Counter, Gauge, Histogram, type Metric, Registry } from 'prom-client';

const latencyBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** The server's Prometheus metrics (`/metrics`), one instance per server. */
export class ServerMetrics {
  readonly registry: Registry;
  readonly connections: Gauge;
  readonly documents: Gauge;
  readonly updatesIn: Counter<'transport'>;
  readonly updatesOut: Counter;
  readonly updatesIgnored: Counter<'reason'>;
  readonly awarenessDropped: Counter;
  readonly updateLatency: Histogram;
  readonly appendLatency: Histogram;
  readonly busLag: Histogram;
  readonly busGaps: Counter;
  readonly errors: Counter<'code'>;
  readonly httpRequests: Counter<'method' | 'route' | 'status'>;
  readonly webhookDeliveries: Counter<'subscription' | 'outcome'>;
  readonly webhookFailing: Gauge<'subscription'>;
  readonly webhookLag: Gauge<'subscription'>;
  readonly webhookLease: Gauge<'subscription'>;
  private readonly eventLoop = monitorEventLoopDelay({ resolution: 10 });

  constructor(registry: Registry | undefined, openDocuments: () => number) {
    this.registry = registry ?? new Registry();
    const registers = [this.registry];
    this.connections = this.reuse(
      'ystate_connections',
      () =>
        new Gauge({
          name: 'ystate_connections',
          help: 'Open WebSocket connections',
          registers,
        }),
    );
    this.documents = this.reuse(
      'ystate_documents_open',
      () =>
        new Gauge({
          name: 'ystate_documents_open',
          help: 'Documents open in the engine',
          registers,
          collect() {
            this.set(openDocuments());
          },
        }),
    );
    this.updatesIn = this.reuse(
      'ystate_updates_received_total',
      () =>
        new Counter({
          name: 'ystate_updates_received_total',
          help: 'Changes accepted from clients (Yjs updates over WebSocket, JSON Patches over HTTP)',
          labelNames: ['transport'],
          registers,
        }),
    );
    this.updatesOut = this.reuse(
      'ystate_updates_sent_total',
      () =>
        new Counter({
          name: 'ystate_updates_sent_total',
          help: 'Update messages sent to WebSocket clients',
          registers,
        }),
    );
    this.updatesIgnored = this.reuse(
      'ystate_updates_ignored_total',
      () =>
        new Counter({
          name: 'ystate_updates_ignored_total',
          help: 'Client updates not logged: from read-only connections, or adding nothing',
          labelNames: ['reason'],
          registers,
        }),
    );
    this.awarenessDropped = this.reuse(
      'ystate_awareness_dropped_total',
      () =>
        new Counter({
          name: 'ystate_awareness_dropped_total',
          help: 'Awareness states a connection sent for client ids another connection or node owns (not applied, not relayed)',
          registers,
        }),
    );
    this.updateLatency = this.reuse(
      'ystate_update_latency_seconds',
      () =>
        new Histogram({
          name: 'ystate_update_latency_seconds',
          help: 'From a client update arriving to its broadcast (validated, logged, applied)',
          buckets: latencyBuckets,
          registers,
        }),
    );
    this.appendLatency = this.reuse(
      'ystate_log_append_seconds',
      () =>
        new Histogram({
          name: 'ystate_log_append_seconds',
          help: 'Log append latency (needs the engine log wrapped with timeAppends)',
          buckets: latencyBuckets,
          registers,
        }),
    );
    this.busLag = this.reuse(
      'ystate_bus_lag_seconds',
      () =>
        new Histogram({
          name: 'ystate_bus_lag_seconds',
          help: 'From an entry being written (its time) to its arrival on this node through the bus',
          buckets: latencyBuckets,
          registers,
        }),
    );
    this.busGaps = this.reuse(
      'ystate_bus_gap_entries_total',
      () =>
        new Counter({
          name: 'ystate_bus_gap_entries_total',
          help: 'Entries missing from the bus (filled from the log by the engine)',
          registers,
        }),
    );
    this.errors = this.reuse(
      'ystate_errors_total',
      () =>
        new Counter({
          name: 'ystate_errors_total',
          help: 'Errors answered to clients or closing connections, by code',
          labelNames: ['code'],
          registers,
        }),
    );
    this.httpRequests = this.reuse(
      'ystate_http_requests_total',
      () =>
        new Counter({
          name: 'ystate_http_requests_total',
          help: 'HTTP requests by route and status',
          labelNames: ['method', 'route', 'status'],
          registers,
        }),
    );
    this.webhookDeliveries = this.reuse(
      'ystate_webhook_deliveries_total',
      () =>
        new Counter({
          name: 'ystate_webhook_deliveries_total',
          help: 'Webhook messages sent by this node, by subscription and outcome (delivered: 2xx; failed: anything else)',
          labelNames: ['subscription', 'outcome'],
          registers,
        }),
    );
    this.webhookFailing = this.reuse(
      'ystate_webhook_failing_documents',
      () =>
        new Gauge({
          name: 'ystate_webhook_failing_documents',
          help: 'Documents whose webhook deliveries are failing (retried with backoff), by subscription; 0 when healthy',
          labelNames: ['subscription'],
          registers,
        }),
    );
    this.webhookLag = this.reuse(
      'ystate_webhook_lag_entries',
      () =>
        new Gauge({
          name: 'ystate_webhook_lag_entries',
          help: 'Log entries not yet delivered, summed over the documents of a subscription (on the node delivering it)',
          labelNames: ['subscription'],
          registers,
        }),
    );
    this.webhookLease = this.reuse(
      'ystate_webhook_lease_held',
      () =>
        new Gauge({
          name: 'ystate_webhook_lease_held',
          help: "1 when this node holds the subscription's lease (delivers it), else 0",
          labelNames: ['subscription'],
          registers,
        }),
    );
    const eventLoop = this.eventLoop;
    this.eventLoop.enable();
    this.reuse(
      'ystate_event_loop_delay_seconds',
      () =>
        new Gauge({
          name: 'ystate_event_loop_delay_seconds',
          help: 'Event-loop delay since the previous scrape (monitorEventLoopDelay)',
          labelNames: ['quantile'],
          registers,
          collect() {
            const seconds = (ns: number) => (Number.isFinite(ns) ? ns / 1e9 : 0);
            this.set({ quantile: '0.5' }, seconds(eventLoop.percentile(50)));
            this.set({ quantile: '0.99' }, seconds(eventLoop.percentile(99)));
            this.set({ quantile: '1' }, seconds(eventLoop.max));
            eventLoop.reset();
          },
        }),
    );
  }

  /** Stops the event-loop monitor. */
  close(): void {
    this.eventLoop.disable();
  }

  /**
   * Registers a metric, or reuses the one a server sharing this registry registered already (their
   * counts add up; callback gauges report the first server's values).
   */
  private reuse<T extends Metric<string>>(name: string, make: () => T): T {
    return (this.registry.getSingleMetric(name) as T | undefined) ?? make();
  }
}
