/**
 * @ystate/agui — the AG-UI bridge. Out: a document (or a subtree) as AG-UI events, a
 * STATE_SNAPSHOT then a STATE_DELTA per batch of committed changes, served as SSE and as an AG-UI
 * run for `@ag-ui/client`. In: an agent's events validated against the AG-UI schemas and ordering
 * rules, its state events merged conflict-free at the version it was given, its run recorded as
 * lifecycle entries. And a proxy that gives any AG-UI agent the shared document as its state.
 */

export type { AgentRunOptions, ExecutedActions, PlannedEvent, RunAction } from './agent-run.js';
export { AgentRun, AguiLifecycle } from './agent-run.js';
export type { AppliedAgentEvents, ApplyAgentEventsOptions } from './apply-agent-events.js';
export { applyAgentEvents } from './apply-agent-events.js';
export type { DocumentEventsOptions } from './document-events.js';
export { documentEvents } from './document-events.js';
export type { DocumentStreamOptions, YStateEventMetadata } from './document-stream.js';
export { AgentProtocolRule } from './event-order.js';
export type { ExtraRoute, RouteContext } from './http.js';
export type { AguiProxyOptions } from './proxy.js';
export { aguiProxyRoute } from './proxy.js';
export type { AguiRoutesOptions } from './routes.js';
export { aguiRoutes, eventsRoute, runRoute } from './routes.js';
export type { RunEnd } from './run-input.js';
export { parseRunAgentInput } from './run-input.js';
export type { FetchFunction } from './upstream.js';
