/**
 * The gate's content check: a Yjs update from outside is refused with INVALID_VALUE when what it
 * would put in a document has no JSON form, before it touches the document. The rules
 * (docs/architecture.md, "What a document may hold"):
 *
 * - Everywhere (every root name): no bigint, `undefined`, NaN, ±Infinity, binary data
 *   (ContentBinary, Uint8Array inside values), subdocuments (ContentDoc), lone UTF-16 surrogates
 *   (strings, keys, root names, format keys), `__proto__` keys, `prototype` directly under
 *   `constructor`, and nothing nested deeper than `MAX_DEPTH`.
 * - Inside the root map `state` (the JSON view): only Y.Map (entries under keys), Y.Array (items),
 *   Y.Text holding plain text (no formats, no embeds) and JSON values. Other roots (editors:
 *   y-prosemirror's XmlFragment, CodeMirror's formatted Y.Text) may hold any structure type,
 *   formatting and XML.
 *
 * Whether a struct lies inside `state` is read from its parent: a root name, or a parent (or
 * origin) that resolves to an item of the same update or of the target document.
 */

import * as decoding from 'lib0/decoding';
import * as Y from 'yjs';
import { ROOT_MAP, ROOTS_KEY, type YType } from './document-roots.js';
import { ErrorCode, YStateError } from './errors.js';
import { checkJson, hasLoneSurrogate, keyFault, MAX_DEPTH } from './json.js';
import type { DecodedUpdate } from './update-check.js';

/** What kind of type holds a struct (`other`: XML types, or a root nobody has defined yet). */
type ParentKind = 'map' | 'array' | 'text' | 'other';

/**
 * Where a type or an item sits. `live`: it will be integrated under a known parent; `dead`: Yjs
 * drops it (its parent or origin was garbage-collected); `unknown`: its parent is neither in the
 * update nor in the document yet (Yjs keeps it pending until it arrives).
 */
interface Place {
  readonly status: 'live' | 'dead' | 'unknown';
  /** The root type's name (for `live` places). */
  readonly root: string | null;
  /** A pointer-like location inside the root, `*` standing for a list position. */
  readonly where: string;
  /** JSON Pointer segments to this slot: a root's entries are at depth 1, a root at 0. */
  readonly depth: number;
  /** The key of this slot in its map parent (for a root: its name), null in a list. */
  readonly key: string | null;
}

/** Where an item goes: the type that holds it and its key there (null in a list). */
export interface Slot {
  readonly parent: Parent;
  readonly key: string | null;
}

/** A parent type: its own place, and what kind of container it is. */
interface Parent extends Place {
  readonly kind: ParentKind;
}

const UNKNOWN: Parent = { status: 'unknown', root: null, where: '?', depth: 1, key: null, kind: 'other' };
const DEAD: Parent = { status: 'dead', root: null, where: '?', depth: 1, key: null, kind: 'other' };

/**
 * Throws INVALID_VALUE (naming the struct and where it would go) when `decoded` — `update` as
 * `Y.decodeUpdate` returned it (Yjs update format v1) — holds content with no JSON form, by the
 * rules above, for applying to `ydoc`. Reads the update and `ydoc`'s store, changes nothing.
 * Work follows the update's size (plus, once per parent type it touches, that type's depth).
 */
export function assertJsonForm(decoded: DecodedUpdate, ydoc: Y.Doc, update: Uint8Array): void {
  gateJsonForm(decoded, ydoc, update, []);
}

/**
 * Where each item of an update that passed the gate sits, as the gate resolved it. Opaque: kept
 * while the update is on its way to the document, and handed to `gateJsonForm` for the updates
 * after it.
 */
export interface GatedItems {
  readonly slots: ReadonlyMap<Y.Item, Slot>;
}

/**
 * `assertJsonForm`, also resolving items of `ahead` — updates that passed the gate and are on
 * their way to `ydoc`, not in it yet — as the document will hold them: an editor's keystroke names
 * its previous one, still in flight, as its origin. Returns where this update's items sit.
 */
export function gateJsonForm(
  decoded: DecodedUpdate,
  ydoc: Y.Doc,
  update: Uint8Array,
  ahead: Iterable<GatedItems>,
): GatedItems {
  const check = new JsonFormCheck(decoded, ydoc, ahead);
  check.run();
  // lib0's decoder assigns object members with `obj[key] = …`, so a `__proto__` key holding a
  // primitive vanishes from the decoded value (other replicas would never see it, the sender
  // would): only the bytes show it. The scan runs only when those bytes occur at all.
  if (includesBytes(update, PROTO_KEY)) scanAnyKeys(update);
  return check;
}

class JsonFormCheck implements GatedItems {
  private readonly byClient = new Map<number, (Y.Item | Y.GC | Y.Skip)[]>();
  private readonly own: Set<unknown>;
  readonly slots = new Map<Y.Item, Slot>();
  private readonly typeParents = new Map<Y.AbstractType<unknown>, Parent>();

  constructor(
    private readonly decoded: DecodedUpdate,
    private readonly ydoc: Y.Doc,
    private readonly ahead: Iterable<GatedItems>,
  ) {
    this.own = new Set(decoded.structs);
    for (const struct of decoded.structs) {
      const list = this.byClient.get(struct.id.client);
      if (list === undefined) this.byClient.set(struct.id.client, [struct]);
      else list.push(struct);
    }
  }

  run(): void {
    for (const struct of this.decoded.structs) {
      if (struct instanceof Y.Item) this.checkItem(struct);
    }
  }

  private checkItem(item: Y.Item): void {
    const { parent, key } = this.slotOf(item);
    const depth = parent.depth + 1;
    const where = `${parent.where}/${key ?? '*'}`;
    const refuse = (what: string, at: string | null = where): never => {
      const root =
        parent.status === 'live' ? `root "${parent.root}"` : 'a parent the document does not have yet';
      const place = at === null ? '' : ` at "${at}"`;
      throw new YStateError({
        code: ErrorCode.INVALID_VALUE,
        message: `struct ${item.id.client}:${item.id.clock} in ${root}${place}: ${what}`,
      });
    };

    if (typeof item.parent === 'string') {
      const fault = keyFault(item.parent, null);
      if (fault !== undefined) refuse(`root name: ${fault}`);
    }
    if (key !== null) {
      const fault = keyFault(key, parent.key);
      if (fault !== undefined) refuse(fault);
    }
    if (depth > MAX_DEPTH) refuse(`nested deeper than ${MAX_DEPTH} levels`);

    const content = item.content;
    // The value rules, everywhere.
    const values = (list: unknown[]): void => {
      for (const value of list) {
        try {
          checkJson(value, { where, depth, key });
        } catch (error) {
          refuse(error instanceof Error ? error.message : String(error), null);
        }
      }
    };
    if (content instanceof Y.ContentAny || content instanceof Y.ContentJSON) values(content.arr);
    else if (content instanceof Y.ContentBinary) refuse('binary data (ContentBinary) has no JSON form');
    else if (content instanceof Y.ContentDoc) refuse('a subdocument (ContentDoc) has no JSON form');
    else if (content instanceof Y.ContentEmbed) values([content.embed]);
    else if (content instanceof Y.ContentFormat) {
      const fault = keyFault(content.key, null);
      if (fault !== undefined) refuse(`format ${fault}`);
      values([content.value]);
    } else if (content instanceof Y.ContentString) {
      if (hasLoneSurrogate(content.str)) refuse('the text has a lone UTF-16 surrogate');
    } else if (content instanceof Y.ContentType) {
      const type = content.type;
      const name =
        type instanceof Y.XmlElement ? type.nodeName : type instanceof Y.XmlHook ? type.hookName : '';
      if (hasLoneSurrogate(name)) refuse('the XML node name has a lone UTF-16 surrogate');
    }

    // The JSON view's own rules, inside `state`, and where the parent is not known yet: such a
    // struct stays pending in Yjs and is integrated when its parent arrives, without passing the
    // gate again, so it must be fit for `state` whatever its parent turns out to be. It may not
    // create a type either, so nesting cannot grow out of sight of the depth check.
    if (parent.status === 'unknown') {
      if (
        !(
          content instanceof Y.ContentAny ||
          content instanceof Y.ContentJSON ||
          content instanceof Y.ContentDeleted
        )
      ) {
        refuse(
          `${contentName(content)} under a parent the document does not have yet (send the parent first)`,
        );
      }
    } else if (parent.status === 'live' && parent.root === ROOT_MAP) {
      if (parent.depth === 0 && key === ROOTS_KEY && !(content instanceof Y.ContentDeleted))
        refuse(`the key "${ROOTS_KEY}" of the root map is reserved for the other root types`);
      const fault = stateFault(parent.kind, key, content, this.deletedHere(item));
      if (fault !== undefined) refuse(fault);
    } else if (parent.status === 'live' && parent.depth === 0 && parent.root !== null) {
      const fault = rootKindFault(this.ydoc.share.get(parent.root), key, content);
      if (fault !== undefined) refuse(fault);
    }
  }

  /**
   * Where `item` is integrated, as Yjs's `Item.getMissing` finds it: the type (a root by name, a
   * parent by ID, or the parent of its left, else right, origin) and the map key (its own, or its
   * origin's). Resolved without recursion (chains of origins inside one update can be long) and
   * memoised, so work follows the update's size.
   */
  private slotOf(item: Y.Item): Slot {
    const known = this.slots.get(item);
    if (known !== undefined) return known;
    const first = this.directSlot(item);
    if (!('dependsOn' in first) || this.slots.has(first.dependsOn)) {
      const slot = 'dependsOn' in first ? this.slotFrom(item, first) : first;
      this.slots.set(item, slot);
      return slot;
    }
    const pending: Y.Item[] = [item];
    const visiting = new Set<Y.Item>();
    while (pending.length > 0) {
      const current = pending[pending.length - 1] as Y.Item;
      if (this.slots.has(current)) {
        pending.pop();
        continue;
      }
      const step = this.directSlot(current);
      if ('dependsOn' in step && !this.slots.has(step.dependsOn)) {
        if (visiting.has(step.dependsOn)) {
          // A cycle of origins inside the update: Yjs can never integrate it.
          this.slots.set(current, { parent: UNKNOWN, key: ownKey(current) });
          pending.pop();
          continue;
        }
        visiting.add(current);
        pending.push(step.dependsOn);
        continue;
      }
      this.slots.set(current, 'dependsOn' in step ? this.slotFrom(current, step) : step);
      pending.pop();
    }
    return this.slots.get(item) as Slot;
  }

  /**
   * One step of `slotOf`: the slot when it is known without other items of the update, or the
   * update item it depends on — the item holding its parent type (`asParent`), or its origin.
   */
  private directSlot(item: Y.Item): Slot | { dependsOn: Y.Item; asParent: boolean } {
    const parent: unknown = item.parent;
    const key = ownKey(item);
    if (typeof parent === 'string') return { parent: this.rootParent(parent), key };
    if (parent instanceof Y.ID) {
      const found = this.find(parent);
      if (found === undefined) {
        const gated = this.findAhead(parent);
        if (gated === undefined || !(gated.item.content instanceof Y.ContentType))
          return { parent: UNKNOWN, key };
        return { parent: childParent(gated.slot.parent, gated.slot.key, gated.item.content.type), key };
      }
      // Yjs drops (garbage-collects) what it cannot place: a collected or non-type parent.
      if (!(found instanceof Y.Item) || !(found.content instanceof Y.ContentType))
        return { parent: DEAD, key };
      if (this.isInUpdate(found)) return { dependsOn: found, asParent: true };
      return { parent: this.typeParent(found.content.type), key };
    }
    for (const id of [item.origin, item.rightOrigin]) {
      if (id === null) continue;
      const found = this.find(id);
      // An origin on its way to the document: the same slot.
      if (found === undefined) return this.findAhead(id)?.slot ?? { parent: UNKNOWN, key: null };
      if (!(found instanceof Y.Item)) return { parent: DEAD, key: null };
      if (this.isInUpdate(found)) return { dependsOn: found, asParent: false };
      const type = found.parent;
      return { parent: type instanceof Y.AbstractType ? this.typeParent(type) : DEAD, key: ownKey(found) };
    }
    return { parent: UNKNOWN, key };
  }

  /** The slot of `item` from the resolved slot of the update item it depends on. */
  private slotFrom(item: Y.Item, step: { dependsOn: Y.Item; asParent: boolean }): Slot {
    const resolved = this.slots.get(step.dependsOn) as Slot;
    if (!step.asParent) return resolved; // an origin: same parent, same key
    // The item holds the parent type: that type, sitting in the item's slot.
    const type = (step.dependsOn.content as Y.ContentType).type;
    return { parent: childParent(resolved.parent, resolved.key, type), key: ownKey(item) };
  }

  private rootParent(name: string): Parent {
    const kind = name === ROOT_MAP ? 'map' : 'other';
    return { status: 'live', root: name, where: '', depth: 0, key: name, kind };
  }

  /** The place of a type that the document already holds, walking up to its root once per type. */
  private typeParent(type: Y.AbstractType<unknown>): Parent {
    const chain: Y.AbstractType<unknown>[] = [];
    let current = type;
    let above: Parent;
    for (;;) {
      const known = this.typeParents.get(current);
      if (known !== undefined) {
        above = known;
        break;
      }
      const item = current._item;
      if (item === null) {
        const name = rootNameOf(this.ydoc, current);
        above = name === undefined ? DEAD : this.rootParent(name);
        this.typeParents.set(current, above);
        break;
      }
      chain.push(current);
      if (!(item.parent instanceof Y.AbstractType)) {
        above = DEAD;
        break;
      }
      current = item.parent;
    }
    for (let i = chain.length - 1; i >= 0; i--) {
      const link = chain[i] as Y.AbstractType<unknown>;
      const item = link._item as Y.Item;
      above = childParent(above, typeof item.parentSub === 'string' ? item.parentSub : null, link);
      this.typeParents.set(link, above);
    }
    return above;
  }

  /**
   * The item of an update ahead that holds `id`, with its slot, where that slot needs nothing
   * the update ahead settles: a live place inside a type, or in a root whose kind is known (the
   * state map, or a root `ydoc` already holds as a concrete type). Else `undefined`.
   */
  private findAhead(id: Y.ID): { item: Y.Item; slot: Slot } | undefined {
    for (const gated of this.ahead) {
      for (const [item, slot] of gated.slots) {
        if (
          item.id.client !== id.client ||
          id.clock < item.id.clock ||
          id.clock >= item.id.clock + item.length
        )
          continue;
        const { parent } = slot;
        if (parent.status !== 'live') return undefined;
        if (parent.depth === 0 && parent.root !== ROOT_MAP) {
          const root = this.ydoc.share.get(parent.root as string);
          if (root === undefined || root.constructor === Y.AbstractType) return undefined;
        }
        return { item, slot };
      }
    }
    return undefined;
  }

  private isInUpdate(struct: Y.Item | Y.GC): boolean {
    return this.own.has(struct);
  }

  /** The struct holding `id`: from the update first, else from the document's store. */
  /** True when the update's own delete set removes all of `item`. */
  private deletedHere(item: Y.Item): boolean {
    const ranges = this.decoded.ds.clients.get(item.id.client);
    if (ranges === undefined) return false;
    const { clock } = item.id;
    return ranges.some((range) => range.clock <= clock && clock + item.length <= range.clock + range.len);
  }

  private find(id: Y.ID): Y.Item | Y.GC | undefined {
    const own = this.byClient.get(id.client);
    if (own !== undefined) {
      const struct = structAt(own, id.clock);
      if (struct !== undefined && !(struct instanceof Y.Skip)) return struct;
    }
    const stored = this.ydoc.store.clients.get(id.client);
    if (stored === undefined || id.clock >= Y.getState(this.ydoc.store, id.client)) return undefined;
    return structAt(stored, id.clock) as Y.Item | Y.GC | undefined;
  }
}

/** Why `content` cannot sit in a `kind` parent of the JSON view (under `key`), or `undefined`. */
function stateFault(
  kind: ParentKind,
  key: string | null,
  content: Y.Item['content'],
  deleted: boolean,
): string | undefined {
  if (content instanceof Y.ContentDeleted) return undefined;
  const name = contentName(content);
  if (kind === 'text') {
    if (key !== null) return 'a Y.Text of the JSON view holds no keyed entries';
    if (content instanceof Y.ContentString) return undefined;
    return `${name} in a Y.Text of the JSON view (only plain text: no formats, embeds or types)`;
  }
  if (kind === 'other') return `${name} inside an XML or unknown type in the JSON view`;
  if (kind === 'map' && key === null) return `${name} in a Y.Map without a key (not visible as JSON)`;
  if (kind === 'array' && key !== null) return `${name} in a Y.Array under a key (not visible as JSON)`;
  if (content instanceof Y.ContentAny || content instanceof Y.ContentJSON) {
    // Overwritten values of one key merge into one deleted struct (documents with gc off send them so).
    if (kind === 'map' && content.arr.length !== 1 && !deleted)
      return 'a map entry holds more than one value';
    return undefined;
  }
  if (content instanceof Y.ContentType) {
    const type: unknown = content.type;
    const plain =
      (type instanceof Y.Map && !(type instanceof Y.XmlHook)) ||
      type instanceof Y.Array ||
      (type instanceof Y.Text && !(type instanceof Y.XmlText));
    return plain ? undefined : `${typeName(type)} in the JSON view (only Y.Map, Y.Array and Y.Text)`;
  }
  return `${name} in the JSON view`;
}

/**
 * Why `content` cannot go into a root whose kind the document already knows (a root's kind is
 * recognised once from its content, docs/json-form.md): content of another kind would show one
 * way live and another in a replica rebuilt from the log. `undefined` when it fits.
 */
function rootKindFault(
  root: YType | undefined,
  key: string | null,
  content: Y.Item['content'],
): string | undefined {
  if (root === undefined || root.constructor === Y.AbstractType || content instanceof Y.ContentDeleted)
    return undefined;
  if (key !== null) return undefined; // map entries, text or element attributes
  const text =
    content instanceof Y.ContentString ||
    content instanceof Y.ContentFormat ||
    content instanceof Y.ContentEmbed;
  const xml =
    content instanceof Y.ContentType &&
    (content.type instanceof Y.XmlElement ||
      content.type instanceof Y.XmlText ||
      content.type instanceof Y.XmlHook);
  const fits =
    root instanceof Y.XmlFragment
      ? xml
      : root instanceof Y.Text
        ? text || content instanceof Y.ContentType
        : root instanceof Y.Array
          ? !text
          : false;
  return fits ? undefined : `${contentName(content)} in the root, which is ${typeName(root)}`;
}

/** The parent that `type`, held under `key` (null in a list) by `above`, is to its own items. */
function childParent(above: Parent, key: string | null, type: unknown): Parent {
  if (above.status !== 'live') return above;
  const where = `${above.where}/${key ?? '*'}`;
  return { status: 'live', root: above.root, where, depth: above.depth + 1, key, kind: kindOf(type) };
}

function ownKey(item: Y.Item): string | null {
  return typeof item.parentSub === 'string' ? item.parentSub : null;
}

function kindOf(type: unknown): ParentKind {
  if (type instanceof Y.XmlText || type instanceof Y.XmlHook) return 'other';
  if (type instanceof Y.Text) return 'text';
  if (type instanceof Y.Map) return 'map';
  if (type instanceof Y.Array) return 'array';
  return 'other';
}

function typeName(type: unknown): string {
  if (type instanceof Y.XmlText) return 'a Y.XmlText';
  if (type instanceof Y.Text) return 'a Y.Text';
  if (type instanceof Y.Array) return 'a Y.Array';
  if (type instanceof Y.XmlHook) return 'a Y.XmlHook';
  if (type instanceof Y.Map) return 'a Y.Map';
  if (type instanceof Y.XmlElement) return 'a Y.XmlElement';
  if (type instanceof Y.XmlFragment) return 'a Y.XmlFragment';
  return 'a Yjs type';
}

function contentName(content: Y.Item['content']): string {
  if (content instanceof Y.ContentString) return 'text (ContentString)';
  if (content instanceof Y.ContentFormat) return 'text formatting (ContentFormat)';
  if (content instanceof Y.ContentEmbed) return 'an embed (ContentEmbed)';
  if (content instanceof Y.ContentType) return `a type (${typeName(content.type)})`;
  if (content instanceof Y.ContentAny) return 'values (ContentAny)';
  if (content instanceof Y.ContentJSON) return 'values (ContentJSON)';
  return 'content';
}

function rootNameOf(ydoc: Y.Doc, type: Y.AbstractType<unknown>): string | undefined {
  for (const [name, root] of ydoc.share) if (root === type) return name;
  return undefined;
}

/** The struct of a clock-sorted list that holds `clock`, or `undefined`. */
function structAt<T extends { id: Y.ID; length: number }>(list: readonly T[], clock: number): T | undefined {
  let low = 0;
  let high = list.length - 1;
  while (low <= high) {
    const mid = (low + high) >>> 1;
    const struct = list[mid] as T;
    if (clock < struct.id.clock) high = mid - 1;
    else if (clock >= struct.id.clock + struct.length) low = mid + 1;
    else return struct;
  }
  return undefined;
}

/** `__proto__` as lib0 writes a string: its length (9) and UTF-8 bytes. */
const PROTO_KEY = new Uint8Array([9, ...new TextEncoder().encode('__proto__')]);

function includesBytes(haystack: Uint8Array, needle: Uint8Array): boolean {
  const first = needle[0] as number;
  for (
    let i = haystack.indexOf(first);
    i !== -1 && i <= haystack.length - needle.length;
    i = haystack.indexOf(first, i + 1)
  ) {
    let j = 1;
    while (j < needle.length && haystack[i + j] === needle[j]) j++;
    if (j === needle.length) return true;
  }
  return false;
}

/**
 * Walks the structs of a v1 update (the layout of Yjs's `readClientsStructRefs`) and refuses a
 * `__proto__` key in any object of ContentAny (or a subdocument's options).
 */
function scanAnyKeys(update: Uint8Array): void {
  const decoder = decoding.createDecoder(update);
  const clients = decoding.readVarUint(decoder);
  for (let c = 0; c < clients; c++) {
    const structs = decoding.readVarUint(decoder);
    const client = decoding.readVarUint(decoder);
    let clock = decoding.readVarUint(decoder);
    for (let s = 0; s < structs; s++) {
      const info = decoding.readUint8(decoder);
      const ref = info & 0b11111;
      if (ref === 0 || ref === 10) {
        clock += decoding.readVarUint(decoder); // GC, Skip
        continue;
      }
      if (info & 0b10000000) skipId(decoder); // origin
      if (info & 0b01000000) skipId(decoder); // right origin
      if ((info & 0b11000000) === 0) {
        if (decoding.readVarUint(decoder) === 1) decoding.readVarString(decoder);
        else skipId(decoder);
        if (info & 0b00100000) decoding.readVarString(decoder); // parentSub
      }
      let length = 1;
      switch (ref) {
        case 1: // ContentDeleted
          length = decoding.readVarUint(decoder);
          break;
        case 2: // ContentJSON
          length = decoding.readVarUint(decoder);
          for (let i = 0; i < length; i++) decoding.readVarString(decoder);
          break;
        case 3: // ContentBinary
          decoding.readVarUint8Array(decoder);
          break;
        case 4: // ContentString
          length = decoding.readVarString(decoder).length;
          break;
        case 5: // ContentEmbed
          decoding.readVarString(decoder);
          break;
        case 6: // ContentFormat
          decoding.readVarString(decoder);
          decoding.readVarString(decoder);
          break;
        case 7: {
          // ContentType: XmlElement and XmlHook carry a name
          const typeRef = decoding.readVarUint(decoder);
          if (typeRef === 3 || typeRef === 5) decoding.readVarString(decoder);
          break;
        }
        case 8: // ContentAny
          length = decoding.readVarUint(decoder);
          for (let i = 0; i < length; i++) scanAny(decoder, client, clock);
          break;
        case 9: // ContentDoc
          decoding.readVarString(decoder);
          scanAny(decoder, client, clock);
          break;
        default:
          throw new YStateError({ code: ErrorCode.INVALID_UPDATE, message: `unknown Yjs content ${ref}` });
      }
      clock += length;
    }
  }
}

function skipId(decoder: decoding.Decoder): void {
  decoding.readVarUint(decoder);
  decoding.readVarUint(decoder);
}

/** Reads one lib0 `any` value, without recursion, refusing a `__proto__` key at any depth. */
function scanAny(decoder: decoding.Decoder, client: number, clock: number): void {
  // Each frame: values left to read, and whether each is preceded by a key (an object).
  const frames: { left: number; keyed: boolean }[] = [{ left: 1, keyed: false }];
  while (frames.length > 0) {
    const frame = frames[frames.length - 1] as { left: number; keyed: boolean };
    if (frame.left === 0) {
      frames.pop();
      continue;
    }
    frame.left--;
    if (frame.keyed && decoding.readVarString(decoder) === '__proto__') {
      throw new YStateError({
        code: ErrorCode.INVALID_VALUE,
        message: `struct ${client}:${clock}: the key "__proto__" is not allowed`,
      });
    }
    const tag = decoding.readUint8(decoder);
    switch (tag) {
      case 125:
        decoding.readVarInt(decoder);
        break;
      case 124:
        decoding.readFloat32(decoder);
        break;
      case 123:
        decoding.readFloat64(decoder);
        break;
      case 122:
        decoding.readBigInt64(decoder);
        break;
      case 119:
        decoding.readVarString(decoder);
        break;
      case 118:
        frames.push({ left: decoding.readVarUint(decoder), keyed: true });
        break;
      case 117:
        frames.push({ left: decoding.readVarUint(decoder), keyed: false });
        break;
      case 116:
        decoding.readVarUint8Array(decoder);
        break;
      default:
        // 127 undefined, 126 null, 121 false, 120 true carry no bytes; other tags cannot have
        // been decoded by Yjs in the first place.
        break;
    }
  }
}
