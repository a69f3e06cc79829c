/** Builds the example page and serves it, forwarding `/api` and `/ws` to `ystateUrl`. */
export function startPage(options: {
  ystateUrl: string;
  port?: number;
  host?: string;
  outDir?: string;
}): Promise<{ url: string; close: () => Promise<void> }>;
