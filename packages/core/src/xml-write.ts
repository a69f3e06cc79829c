/**
 * JSON → Yjs XML: writes a ProseMirror-style node tree (the JSON form of a `Y.XmlFragment`, see
 * `y-value.ts`) into a fragment by changing only what differs, the way y-prosemirror does, so a
 * person typing elsewhere — or elsewhere in the same paragraph — keeps their edit:
 *
 * - children equal at the start and at the end are kept; in the middle, children of the same
 *   kind are updated in place pairwise (an element of the same type, or a text run), the rest is
 *   deleted and inserted;
 * - an element updated in place changes only the attributes that differ;
 * - a text run changes by one splice of the differing middle, then formats what differs in marks.
 *
 * `assertFragmentJson` first checks the tree's shape (no empty text, no empty `attrs` / `content`
 * / `marks`, no unknown members), so a write is refused whole or applied whole. As in ProseMirror,
 * adjacent text nodes with equal marks read back joined, and marks read back sorted by type.
 */

import * as Y from 'yjs';
import { ErrorCode, YStateError } from './errors.js';
import { isPlainObject, type Json, type JsonObject, jsonEqual } from './json.js';
import { spliceBetween } from './text-splice.js';
import { FRAGMENT_TYPE, marksOf, markTypeOf, toJsonValue } from './y-value.js';

/** A text node of the JSON form. */
interface TextNode {
  type: 'text';
  text: string;
  marks?: JsonObject[];
}

/** Throws INVALID_VALUE unless `value` is the JSON form of a fragment that reads back as written. */
export function assertFragmentJson(value: unknown, where: string): asserts value is JsonObject {
  if (!isPlainObject(value))
    throw invalid(where, 'an XML fragment is an object { "type": "doc", "content": [...] }');
  onlyKeys(value, ['type', 'content'], where);
  if (value.type !== FRAGMENT_TYPE)
    throw invalid(`${where}/type`, `the fragment's type is "${FRAGMENT_TYPE}"`);
  assertContent(value.content, `${where}/content`);
}

function assertNode(value: unknown, where: string): void {
  if (!isPlainObject(value)) throw invalid(where, 'a node is an object with a "type"');
  if (typeof value.type !== 'string' || value.type === '')
    throw invalid(`${where}/type`, 'a node needs a type name');
  if (value.type === 'text' && 'text' in value) {
    onlyKeys(value, ['type', 'text', 'marks'], where);
    if (typeof value.text !== 'string' || value.text === '')
      throw invalid(`${where}/text`, 'a text node holds a non-empty string');
    if (value.marks === undefined) return;
    if (!Array.isArray(value.marks) || value.marks.length === 0)
      throw invalid(`${where}/marks`, 'marks are a non-empty array (leave it out when there are none)');
    const types = new Set<string>();
    value.marks.forEach((mark, i) => {
      const at = `${where}/marks/${i}`;
      if (!isPlainObject(mark)) throw invalid(at, 'a mark is an object with a "type"');
      onlyKeys(mark, ['type', 'attrs'], at);
      if (typeof mark.type !== 'string' || mark.type === '' || markTypeOf(mark.type) !== mark.type)
        throw invalid(`${at}/type`, 'a mark needs a type name');
      if (types.has(mark.type)) throw invalid(at, `the mark "${mark.type}" appears twice`);
      types.add(mark.type);
      if (isPlainObject(mark.attrs) && Object.keys(mark.attrs).length === 0)
        throw invalid(`${at}/attrs`, 'leave out empty attrs');
    });
    return;
  }
  onlyKeys(value, ['type', 'attrs', 'content'], where);
  if (value.attrs !== undefined && (!isPlainObject(value.attrs) || Object.keys(value.attrs).length === 0))
    throw invalid(`${where}/attrs`, 'attrs are a non-empty object (leave it out when there are none)');
  assertContent(value.content, `${where}/content`);
}

function assertContent(content: unknown, where: string): void {
  if (content === undefined) return;
  if (!Array.isArray(content) || content.length === 0)
    throw invalid(where, 'content is a non-empty array of nodes (leave it out when there are none)');
  content.forEach((node, i) => {
    assertNode(node, `${where}/${i}`);
  });
}

function onlyKeys(value: Record<string, unknown>, allowed: readonly string[], where: string): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) throw invalid(`${where}/${key}`, `a node holds only ${allowed.join(', ')}`);
  }
}

function isTextNode(node: unknown): node is TextNode {
  return isPlainObject(node) && node.type === 'text' && typeof node.text === 'string';
}

/** Makes `fragment` hold `json` (checked by `assertFragmentJson`), changing only what differs. */
export function writeFragment(fragment: Y.XmlFragment, json: JsonObject): void {
  writeChildren(fragment, (json.content as Json[] | undefined) ?? []);
}

/** A child of an XML parent as the JSON form groups it: one element, or one text run. */
type Segment = { element: JsonObject } | { runs: TextNode[] };

function segmentsOf(nodes: readonly Json[]): Segment[] {
  const segments: Segment[] = [];
  for (const node of nodes) {
    const last = segments[segments.length - 1];
    if (isTextNode(node)) {
      if (last !== undefined && 'runs' in last) last.runs.push(node);
      else segments.push({ runs: [node] });
    } else {
      segments.push({ element: node as JsonObject });
    }
  }
  return segments;
}

function sameChild(child: unknown, segment: Segment): boolean {
  if ('runs' in segment)
    return child instanceof Y.XmlText && jsonEqual(toJsonValue(child), segment.runs as unknown as Json);
  return !(child instanceof Y.XmlText) && jsonEqual(toJsonValue(child), segment.element);
}

function sameKind(child: unknown, segment: Segment): boolean {
  // A text holding embeds is replaced rather than spliced (its positions are not its string's).
  if ('runs' in segment) return child instanceof Y.XmlText && child.toDelta().every(isStringOp);
  return child instanceof Y.XmlElement && child.nodeName === segment.element.type;
}

function writeChildren(parent: Y.XmlFragment, nodes: readonly Json[]): void {
  const children = parent.toArray();
  const segments = segmentsOf(nodes);
  let start = 0;
  while (
    start < children.length &&
    start < segments.length &&
    sameChild(children[start], segments[start] as Segment)
  )
    start++;
  let end = 0;
  while (
    end < children.length - start &&
    end < segments.length - start &&
    sameChild(children[children.length - 1 - end], segments[segments.length - 1 - end] as Segment)
  )
    end++;
  const oldMiddle = children.slice(start, children.length - end);
  const newMiddle = segments.slice(start, segments.length - end);
  let paired = 0;
  while (
    paired < oldMiddle.length &&
    paired < newMiddle.length &&
    sameKind(oldMiddle[paired], newMiddle[paired] as Segment)
  ) {
    const child = oldMiddle[paired];
    const segment = newMiddle[paired] as Segment;
    if ('runs' in segment) writeRuns(child as Y.XmlText, segment.runs);
    else writeElement(child as Y.XmlElement, segment.element);
    paired++;
  }
  const at = start + paired;
  const removed = oldMiddle.length - paired;
  if (removed > 0) parent.delete(at, removed);
  const added = newMiddle.slice(paired).map(buildChild);
  if (added.length > 0) parent.insert(at, added);
}

function writeElement(element: Y.XmlElement, json: JsonObject): void {
  const attrs = (json.attrs as JsonObject | undefined) ?? {};
  const current = element.getAttributes() as Record<string, unknown>;
  for (const key of Object.keys(current)) if (!Object.hasOwn(attrs, key)) element.removeAttribute(key);
  for (const [key, value] of Object.entries(attrs)) {
    if (!Object.hasOwn(current, key) || !jsonEqual(toJsonValue(current[key]), value))
      element.setAttribute(key, value as never);
  }
  writeChildren(element, (json.content as Json[] | undefined) ?? []);
}

/** A new Yjs child for a segment (prelim types: Yjs integrates their content on insert). */
function buildChild(segment: Segment): Y.XmlElement | Y.XmlText {
  if ('runs' in segment) {
    const text = new Y.XmlText();
    let index = 0;
    for (const run of segment.runs) {
      text.insert(index, run.text, attributesOf(run.marks));
      index += run.text.length;
    }
    return text;
  }
  const { element: json } = segment;
  const element = new Y.XmlElement(json.type as string);
  for (const [key, value] of Object.entries((json.attrs as JsonObject | undefined) ?? {}))
    element.setAttribute(key, value as never);
  const children = segmentsOf((json.content as Json[] | undefined) ?? []).map(buildChild);
  if (children.length > 0) element.insert(0, children);
  return element;
}

/** y-prosemirror's formats for marks: the mark type as the key, its attrs (or `{}`) as the value. */
function attributesOf(marks: readonly JsonObject[] | undefined): Record<string, unknown> {
  const attributes: Record<string, unknown> = {};
  for (const mark of marks ?? []) attributes[mark.type as string] = mark.attrs ?? {};
  return attributes;
}

/**
 * Makes a Y.XmlText hold `runs`: one splice of the middle where the plain texts differ (inserted
 * with the marks of the runs it falls in), then a format of every stretch whose marks differ.
 */
function writeRuns(text: Y.XmlText, runs: readonly TextNode[]): void {
  const delta = text.toDelta() as { insert: unknown; attributes?: Record<string, unknown> }[];
  const before = delta.map((op) => op.insert as string).join('');
  const after = runs.map((run) => run.text).join('');
  // The marks wanted at each character, and what each character holds now (as formats).
  const wanted: Record<string, unknown>[] = [];
  for (const run of runs) for (let i = 0; i < run.text.length; i++) wanted.push(attributesOf(run.marks));
  const held: Record<string, unknown>[] = [];
  for (const op of delta)
    for (let i = 0; i < (op.insert as string).length; i++) held.push(op.attributes ?? {});

  const splice = spliceBetween(before, after);
  const start = splice.index;
  const end = before.length - start - splice.deleteCount;
  if (splice.deleteCount > 0) text.delete(start, splice.deleteCount);
  for (let i = start; i < after.length - end; ) {
    let j = i + 1;
    while (j < after.length - end && sameFormats(wanted[j], wanted[i])) j++;
    text.insert(i, after.slice(i, j), wanted[i] as Record<string, unknown>);
    i = j;
  }
  // Characters kept from before: format where their marks differ from the wanted ones.
  const now = [
    ...held.slice(0, start),
    ...wanted.slice(start, after.length - end),
    ...held.slice(before.length - end),
  ];
  for (let i = 0; i < after.length; ) {
    if (sameMarks(now[i], wanted[i])) {
      i++;
      continue;
    }
    let j = i + 1;
    while (
      j < after.length &&
      !sameMarks(now[j], wanted[j]) &&
      sameFormats(wanted[j], wanted[i]) &&
      sameFormats(now[j], now[i])
    )
      j++;
    const formats: Record<string, unknown> = { ...(wanted[i] as Record<string, unknown>) };
    for (const key of Object.keys(now[i] as Record<string, unknown>))
      if (!Object.hasOwn(formats, key)) formats[key] = null;
    text.format(i, j - i, formats);
    i = j;
  }
}

function isStringOp(op: { insert: unknown }): boolean {
  return typeof op.insert === 'string';
}

/** Equal marks as the JSON form shows them (a `type--hash` key counts as its type). */
function sameMarks(a: Record<string, unknown> | undefined, b: Record<string, unknown> | undefined): boolean {
  return jsonEqual(marksOf(a), marksOf(b));
}

function sameFormats(
  a: Record<string, unknown> | undefined,
  b: Record<string, unknown> | undefined,
): boolean {
  return jsonEqual(toJsonValue(a ?? {}), toJsonValue(b ?? {}));
}

function invalid(where: string, message: string): YStateError {
  return new YStateError({ code: ErrorCode.INVALID_VALUE, message: `at "${where}": ${message}` });
}
