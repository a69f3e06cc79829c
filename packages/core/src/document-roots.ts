/**
 * One JSON namespace for every root type of a document. The root map `state` is the top level
 * (its paths are unchanged); every other root with content is shown under the reserved member
 * `$roots`, by its name: `{ "todos": [...], "$roots": { "prosemirror": { "type": "doc", … } } }`.
 * See docs/json-form.md, and docs/architecture.md ("One namespace for every root") for the reasons.
 *
 * A root that arrived in a remote update before anyone called `getMap`/`getText`/… on this replica
 * is a bare `AbstractType`; its kind is recognised from its content and the root is turned into
 * that type (Yjs's own `doc.get(name, Type)` does this without changing the content).
 */

import * as Y from 'yjs';
import { ErrorCode, YStateError } from './errors.js';
import type { Json, JsonObject } from './json.js';
import { formatPointer, parsePointer } from './pointer.js';
import { textDelta, toJsonValue } from './y-value.js';

/** The name of the root map that holds a document's JSON view. */
export const ROOT_MAP = 'state';

/** The member of the document's JSON that holds every other root type, by name. */
export const ROOTS_KEY = '$roots';

/**
 * Any Yjs type. (Yjs types its shared types by their event class, which `unknown` does not
 * cover, so the event type stays open here.)
 */
// biome-ignore lint/suspicious/noExplicitAny: see above
export type YType = Y.AbstractType<any>;

/** A root type's constructor, as `doc.get(name, Type)` takes it. */
type RootConstructor = typeof Y.Map | typeof Y.Array | typeof Y.Text | typeof Y.XmlFragment;

/**
 * The root `name` of `ydoc` as its concrete type, recognising (and converting) a root that arrived
 * untyped; `undefined` when there is no such root or its content does not tell its kind yet.
 */
export function typedRoot(ydoc: Y.Doc, name: string): YType | undefined {
  const root = ydoc.share.get(name);
  if (root === undefined) return undefined;
  if (root.constructor !== Y.AbstractType) return root;
  const kind = recognise(root);
  return kind === undefined ? undefined : ydoc.get(name, kind);
}

/**
 * The kind of an untyped root, read from its live content: text (strings, formats, embeds) makes a
 * Y.Text, XML nodes a Y.XmlFragment, other list items a Y.Array, keyed entries alone a Y.Map.
 */
function recognise(root: YType): RootConstructor | undefined {
  let list: RootConstructor | undefined;
  for (let item = root._start; item !== null; item = item.right) {
    if (item.deleted) continue;
    const content = item.content;
    if (content instanceof Y.ContentString || content instanceof Y.ContentFormat) return Y.Text;
    if (content instanceof Y.ContentEmbed) return Y.Text;
    if (content instanceof Y.ContentType) {
      const type = content.type;
      const xml = type instanceof Y.XmlElement || type instanceof Y.XmlText || type instanceof Y.XmlHook;
      list = xml && list !== Y.Array ? Y.XmlFragment : Y.Array;
    } else {
      list = Y.Array;
    }
  }
  if (list !== undefined) return list;
  for (const item of root._map.values()) if (!item.deleted) return Y.Map;
  return undefined;
}

/** True when a root has content to show (an empty root is not shown, whatever its kind). */
export function hasContent(root: YType): boolean {
  if (root._length > 0) return true;
  if (root instanceof Y.Text || root instanceof Y.XmlFragment || root instanceof Y.Array) return false;
  for (const item of root._map.values()) if (!item.deleted) return true;
  return false;
}

/** The roots other than `state` that have content, typed, in the order the document defined them. */
export function shownRoots(ydoc: Y.Doc): [string, YType][] {
  const shown: [string, YType][] = [];
  for (const name of [...ydoc.share.keys()]) {
    if (name === ROOT_MAP) continue;
    const root = typedRoot(ydoc, name);
    if (root !== undefined && hasContent(root)) shown.push([name, root]);
  }
  return shown;
}

/** The `$roots` member: every shown root's JSON by name, or `undefined` when there is none. */
export function rootsJson(ydoc: Y.Doc): JsonObject | undefined {
  const shown = shownRoots(ydoc);
  if (shown.length === 0) return undefined;
  return Object.fromEntries(shown.map(([name, root]) => [name, toJsonValue(root)])) as JsonObject;
}

/**
 * The whole document as JSON: the entries of the root map `state`, and `$roots` when other roots
 * have content. (An entry `$roots` in `state`, which only a document written before the name was
 * reserved can hold, is not shown.)
 */
export function documentJson(ydoc: Y.Doc): Record<string, Json> {
  const json = toJsonValue(ydoc.getMap(ROOT_MAP)) as Record<string, Json>;
  delete json[ROOTS_KEY];
  const roots = rootsJson(ydoc);
  if (roots !== undefined) json[ROOTS_KEY] = roots;
  return json;
}

/** A root type with content, as `ystate inspect` and `ystate migrate` report it. */
export interface RootSummary {
  name: string;
  kind: 'Y.Map' | 'Y.Array' | 'Y.Text' | 'Y.XmlFragment';
  /** Where its JSON is: `''` for the root map `state`, `/$roots/<name>` for the others. */
  path: string;
}

/** Every root type of `ydoc` that has content (`state` first), with its kind and JSON path. */
export function describeRoots(ydoc: Y.Doc): RootSummary[] {
  const summaries: RootSummary[] = [];
  const state = ydoc.share.get(ROOT_MAP);
  if (state !== undefined && hasContent(ydoc.getMap(ROOT_MAP))) {
    summaries.push({ name: ROOT_MAP, kind: 'Y.Map', path: '' });
  }
  for (const [name, root] of shownRoots(ydoc)) {
    const kind =
      root instanceof Y.XmlFragment
        ? 'Y.XmlFragment'
        : root instanceof Y.Text
          ? 'Y.Text'
          : root instanceof Y.Array
            ? 'Y.Array'
            : 'Y.Map';
    summaries.push({ name, kind, path: formatPointer([ROOTS_KEY, name]) });
  }
  return summaries;
}

/** One line naming each root: `prosemirror (Y.XmlFragment at /$roots/prosemirror)`. */
export function formatRoots(roots: readonly RootSummary[]): string {
  if (roots.length === 0) return 'no content';
  return roots
    .map((root) => `${root.name} (${root.kind} at ${root.path === '' ? 'the top level' : root.path})`)
    .join(', ');
}

/**
 * The formatting of the `Y.Text` at `pointer` of the document's JSON form (in `state`, or under
 * `$roots`): its Quill-style delta, which the string form leaves out. Throws PATH_NOT_FOUND when
 * nothing is there and TYPE_MISMATCH when it is not a text.
 */
export function textDeltaAt(ydoc: Y.Doc, pointer: string): Json[] {
  const segments = parsePointer(pointer);
  const underRoots = segments[0] === ROOTS_KEY && segments.length >= 2;
  let node: unknown = underRoots ? typedRoot(ydoc, segments[1] as string) : ydoc.getMap(ROOT_MAP);
  for (const segment of segments.slice(underRoots ? 2 : 0)) {
    if (node instanceof Y.Map) node = node.get(segment);
    else if (node instanceof Y.Array && /^(0|[1-9][0-9]*)$/.test(segment)) node = node.get(Number(segment));
    else node = undefined;
  }
  if (node === undefined) {
    throw new YStateError({ code: ErrorCode.PATH_NOT_FOUND, message: `nothing at "${pointer}"` });
  }
  if (!(node instanceof Y.Text) || node instanceof Y.XmlText) {
    throw new YStateError({ code: ErrorCode.TYPE_MISMATCH, message: `"${pointer}" is not a Y.Text` });
  }
  return textDelta(node);
}
