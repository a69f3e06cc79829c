/**
 * The AG-UI routes of `ystate serve`, loaded when first asked for. `@ystate/agui` (with
 * `@ag-ui/client` and rxjs behind it) costs a server that never serves AG-UI about 20 MB of
 * memory, so serve mounts these stand-ins instead: the same methods, paths and access (the route
 * table must be known before the first request, for matching and auth), whose handlers import the
 * package on the first request and hand every request to the real route. A test checks that the
 * table matches `aguiRoutes`.
 */

import type { AguiRoutesOptions } from '@ystate/agui';
import type { Engine } from '@ystate/core';
import type { ExtraRoute } from '@ystate/server';

/** The routes `aguiRoutes` returns without a proxy, in its order. */
export const AGUI_ROUTE_TABLE: readonly Pick<ExtraRoute, 'method' | 'path' | 'access'>[] = [
  { method: 'GET', path: '/api/docs/:docId/events', access: 'read' },
  { method: 'POST', path: '/api/docs/:docId/agui', access: 'read' },
];

/** `aguiRoutes(engine, options)`, with `@ystate/agui` imported on the first request to one of them. */
export function lazyAguiRoutes(engine: Engine, options: Omit<AguiRoutesOptions, 'proxy'> = {}): ExtraRoute[] {
  let loading: Promise<ExtraRoute[]> | undefined;
  const load = async (): Promise<ExtraRoute[]> => {
    loading ??= import('@ystate/agui').then(({ aguiRoutes }) => {
      const routes = aguiRoutes(engine, options);
      checkTable(routes);
      return routes;
    });
    // A failed import is retried by the next request rather than remembered.
    return loading.catch((error: unknown) => {
      loading = undefined;
      throw error;
    });
  };
  return AGUI_ROUTE_TABLE.map((entry, index) => ({
    ...entry,
    async handler(req, res, ctx) {
      const route = (await load())[index] as ExtraRoute;
      await route.handler(req, res, ctx);
    },
  }));
}

/** Throws when `@ystate/agui`'s routes are no longer those of AGUI_ROUTE_TABLE (a request would go to the wrong one). */
export function checkTable(routes: readonly ExtraRoute[]): void {
  const described = (list: readonly Pick<ExtraRoute, 'method' | 'path' | 'access'>[]) =>
    list.map(({ method, path, access }) => `${method} ${path} (${access})`).join(', ');
  if (described(routes) !== described(AGUI_ROUTE_TABLE)) {
    throw new Error(
      `@ystate/agui's routes are ${described(routes)}, but serve mounts ${described(AGUI_ROUTE_TABLE)}`,
    );
  }
}
