/**
 * Yjs → JSON Patch. The events of one transaction (local or remote) become the RFC 6902
 * operations that turn the JSON before it into the JSON after it. Only types that existed before
 * the transaction and still exist get events; what a transaction creates arrives inside its
 * parent's insert, so work follows the size of the change, not of the document.
 */

import * as Y from 'yjs';
import type { PatchOperation } from './json-patch.js';
import { formatPointer } from './pointer.js';
import { toJsonValue } from './y-value.js';

/** The JSON Patch of one transaction, from the events `observeDeep` gave on the root map. */
export function patchOfEvents(events: readonly Y.YEvent<Y.AbstractType<unknown>>[]): PatchOperation[] {
  // Paths are in the new state. Emitting parents first makes each child's path valid at the
  // moment its operations apply: every ancestor already has its final shape.
  const ordered = [...events].sort((a, b) => a.path.length - b.path.length);
  const ops: PatchOperation[] = [];
  for (const event of ordered) {
    const path = event.path;
    const target = event.target;
    if (target instanceof Y.Map) {
      for (const [key, change] of event.changes.keys) {
        const pointer = formatPointer([...path, key]);
        if (change.action === 'delete') ops.push({ op: 'remove', path: pointer });
        else
          ops.push({
            op: change.action === 'add' ? 'add' : 'replace',
            path: pointer,
            value: toJsonValue(target.get(key)),
          });
      }
    } else if (target instanceof Y.Array) {
      let index = 0;
      for (const part of event.changes.delta) {
        if (part.retain !== undefined) index += part.retain;
        else if (part.delete !== undefined) {
          const pointer = formatPointer([...path, index]);
          for (let i = 0; i < part.delete; i++) ops.push({ op: 'remove', path: pointer });
        } else if (Array.isArray(part.insert)) {
          for (const item of part.insert) {
            ops.push({ op: 'add', path: formatPointer([...path, index]), value: toJsonValue(item) });
            index++;
          }
        }
      }
    } else if (target instanceof Y.Text) {
      // JSON Patch has no string splice: a text change replaces the string. (Yjs builds a text
      // event's delta by walking the whole text, so it is not consulted.)
      ops.push({ op: 'replace', path: formatPointer(path), value: toJsonValue(target) });
    }
  }
  return ops;
}
