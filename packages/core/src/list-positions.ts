/**
 * Where items sit in long lists, remembered between transactions. A change deep inside a list
 * item (a field of `/items/5000`) needs the item's index for its JSON path, and Yjs finds an index
 * only by walking every item before it: for an agent editing fields of a 10,000-item list, that
 * walk was a quarter of the engine's time. Here the first walk of a long list records every
 * item's position, and later changes inside its items read theirs. A list's positions are
 * forgotten as soon as the list itself changes (`forget`, called for every list that has an event
 * in a transaction, before any path of that transaction is computed).
 */

import type * as Y from 'yjs';

/** Lists shorter than this are walked each time: remembering them costs more than it saves. */
const REMEMBER_FROM = 64;

/** How many positions an item takes in its list (a JSON list counts items; XML counts nodes). */
export type ItemWidth = (item: Y.Item) => number;

/** Positions of items in long lists, remembered until the list changes (see above). */
export class ListPositions {
  private readonly lists = new Map<object, Map<Y.Item, number>>();

  /** The index of `item` in the list that holds it, counting live items by `width`. */
  indexOf(item: Y.Item, width: ItemWidth): number {
    const list = item.parent as Y.AbstractType<unknown>;
    const known = this.lists.get(list)?.get(item);
    if (known !== undefined) return known;
    let index = 0;
    let steps = 0;
    for (let left = item.left; left !== null; left = left.left) {
      if (!left.deleted) index += width(left);
      steps++;
    }
    if (steps >= REMEMBER_FROM) this.remember(list, width);
    return index;
  }

  /** `list` changed (items inserted, deleted or moved): its positions are stale. */
  forget(list: object): void {
    this.lists.delete(list);
  }

  /** Forgets every list (the document changed while nobody read positions). */
  clear(): void {
    this.lists.clear();
  }

  private remember(list: Y.AbstractType<unknown>, width: ItemWidth): void {
    const positions = new Map<Y.Item, number>();
    let index = 0;
    for (let item = list._start; item !== null; item = item.right) {
      if (item.deleted) continue;
      positions.set(item, index);
      index += width(item);
    }
    this.lists.set(list, positions);
  }
}
