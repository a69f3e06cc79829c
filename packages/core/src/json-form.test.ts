import fc from 'fast-check';
import jsonPatch from 'fast-json-patch';
import * as encoding from 'lib0/encoding';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { ErrorCode, isYStateError, type YStateError } from './errors.js';
import { type Json, MAX_DEPTH } from './json.js';
import { assertJsonForm, type GatedItems, gateJsonForm } from './json-form.js';
import { type Change, StateDocument } from './state-document.js';
import { collaborativeText, toJsonValue } from './y-value.js';

/** An empty target document (the gate only reads it). */
const EMPTY = new Y.Doc();

/** What the gate says about `update` for `target`: the refusal, or `undefined` when it passes. */
function gate(update: Uint8Array, target: Y.Doc = EMPTY): YStateError | undefined {
  try {
    assertJsonForm(Y.decodeUpdate(update), target, update);
  } catch (error) {
    if (isYStateError(error)) return error;
    throw error;
  }
  return undefined;
}

/** The update that brings `target` up to `remote`. */
function diff(remote: Y.Doc, target: Y.Doc = EMPTY): Uint8Array {
  return Y.encodeStateAsUpdate(remote, Y.encodeStateVector(target));
}

function remoteState(write: (state: Y.Map<unknown>, doc: Y.Doc) => void): Y.Doc {
  const doc = new Y.Doc();
  write(doc.getMap('state'), doc);
  return doc;
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    if (isYStateError(error)) return error.code;
    throw error;
  }
  return undefined;
}

/** A v1 update with one struct under a root, written byte by byte (for content Yjs's API never writes). */
function craft(
  ref: number,
  root: string,
  key: string | null,
  content: (e: encoding.Encoder) => void,
): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, 1); // clients
  encoding.writeVarUint(e, 1); // structs of that client
  encoding.writeVarUint(e, 4242); // client
  encoding.writeVarUint(e, 0); // clock
  encoding.writeUint8(e, ref | (key === null ? 0 : 0b100000));
  encoding.writeVarUint(e, 1); // the parent is a root, by name
  encoding.writeVarString(e, root);
  if (key !== null) encoding.writeVarString(e, key);
  content(e);
  encoding.writeVarUint(e, 0); // empty delete set
  return encoding.toUint8Array(e);
}

describe('issue 13, finding 1: a bigint', () => {
  it('is refused at the gate with INVALID_VALUE naming where it would go', () => {
    const remote = remoteState((state) => state.set('n', 1n));
    const refusal = gate(diff(remote));
    expect(refusal?.code).toBe(ErrorCode.INVALID_VALUE);
    expect(refusal?.message).toContain('root "state"');
    expect(refusal?.message).toContain('/n');
    expect(refusal?.message).toContain('bigint');
  });

  it('in a document written before the gate, converts by the legacy rule and never breaks JSON.stringify', () => {
    const doc = new StateDocument('legacy');
    const changes: Change[] = [];
    doc.onChange((change) => changes.push(change));
    const remote = remoteState((state, ydoc) => {
      state.set('n', 1234567890123456789n);
      state.set('nan', Number.NaN);
      state.set('inf', Number.NEGATIVE_INFINITY);
      state.set('undef', undefined);
      state.set('bytes', new Uint8Array([1, 2, 3]));
      state.set('list', [undefined, Number.POSITIVE_INFINITY, 2n, new Uint8Array([255])]);
      state.set('sub', new Y.Doc({ guid: `${ydoc.guid}-sub` }));
      state.set('proto', JSON.parse('{"__proto__": {"x": 1}, "y": 2}'));
      state.set('__proto__', 'own');
    });
    Y.applyUpdate(doc.ydoc, Y.encodeStateAsUpdate(remote));
    const expected = {
      n: '1234567890123456789',
      nan: null,
      inf: null,
      undef: null,
      bytes: 'AQID',
      list: [null, null, '2', '/w=='],
      sub: null,
      proto: JSON.parse('{"y": 2, "__proto__": {"x": 1}}'),
      ...JSON.parse('{"__proto__": "own"}'),
    };
    const json = doc.toJSON();
    expect(json).toEqual(expected);
    expect(Object.hasOwn(json, '__proto__')).toBe(true);
    expect(Object.getPrototypeOf(json)).toBe(Object.prototype);
    expect(JSON.parse(JSON.stringify(json))).toEqual(expected);
    expect(doc.get('/n')).toBe('1234567890123456789');
    expect(doc.get('/undef')).toBeNull(); // as toJSON shows it: the key exists
    expect(doc.get('/proto')).toEqual(expected.proto);
    expect(doc.get('/list/2')).toBe('2');
    // The change listeners got the same rule: the patch serialises and rebuilds the JSON (but the
    // legacy `/__proto__` entry, which fast-json-patch cannot hold as an own member).
    expect(() => JSON.stringify(changes)).not.toThrow();
    const ops = changes.flatMap((c) => [...c.ops]).filter((op) => op.path !== '/__proto__');
    const rebuilt = jsonPatch.applyPatch({}, ops as jsonPatch.Operation[], false, false, false).newDocument;
    const { __proto__: _legacy, ...rest } = JSON.parse(JSON.stringify(json));
    expect(JSON.parse(JSON.stringify(rebuilt))).toEqual(rest);
    // Writing inside a legacy value writes its JSON form back, so one holding `__proto__` is
    // refused (replace or remove it whole); removing the key is always possible.
    expect(codeOf(() => doc.applyPatch([{ op: 'add', path: '/proto/z', value: 3 }]))).toBe(
      ErrorCode.INVALID_VALUE,
    );
    doc.applyPatch([{ op: 'remove', path: '/__proto__' }]);
    doc.applyPatch([{ op: 'replace', path: '/proto', value: { y: 2 } }]);
    expect(Object.hasOwn(doc.toJSON(), '__proto__')).toBe(false);
  });

  it('in a legacy document stays editable around it, and a write inside such a value replaces it with JSON', () => {
    const doc = new StateDocument('legacy');
    Y.applyUpdate(
      doc.ydoc,
      Y.encodeStateAsUpdate(remoteState((state) => state.set('o', { big: 1n, keep: 1 }))),
    );
    doc.applyPatch([{ op: 'add', path: '/o/more', value: 2 }]);
    const reloaded = new Y.Doc();
    Y.applyUpdate(reloaded, Y.encodeStateAsUpdate(doc.ydoc));
    expect(toJsonValue(reloaded.getMap('state'))).toEqual({ o: { big: '1', keep: 1, more: 2 } });
  });
});

describe('the gate: every kind of Yjs content', () => {
  const refused = (update: Uint8Array, target?: Y.Doc) =>
    expect(gate(update, target)?.code).toBe(ErrorCode.INVALID_VALUE);
  const accepted = (update: Uint8Array, target?: Y.Doc) => expect(gate(update, target)).toBeUndefined();

  it('accepts the JSON view as the path API writes it, and what a Yjs client writes as JSON', () => {
    const doc = new StateDocument('d');
    doc.set('/a', {
      list: [1, 'two', { three: true }],
      n: null,
      deep: { x: -0.5, big: 1.7976931348623157e308 },
    });
    doc.set('/text', collaborativeText('héllo 😀'));
    doc.set('/constructor', { prototypes: 1 });
    doc.set('/prototype', 2);
    accepted(Y.encodeStateAsUpdate(doc.ydoc));
    accepted(diff(remoteState((state) => state.set('x', { a: [1, { b: 'c', constructor: 'ok' }] }))));
  });

  it('refuses values without a JSON form inside ContentAny, at any depth', () => {
    for (const value of [
      undefined,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      5n,
      { a: [{ b: undefined }] },
      [new Uint8Array(1)],
      { a: { b: 2n } },
    ]) {
      refused(diff(remoteState((state) => state.set('v', value))));
    }
    const array = new Y.Doc();
    array.getArray('list').push([Number.NaN]);
    refused(diff(array)); // the value rules hold under every root
  });

  it('refuses binary content and subdocuments everywhere', () => {
    refused(diff(remoteState((state) => state.set('b', new Uint8Array([1])))));
    const other = new Y.Doc();
    other.getArray('files').push([new Uint8Array([1])]);
    refused(diff(other));
    refused(diff(remoteState((state) => state.set('d', new Y.Doc()))));
  });

  it('refuses formatting, embeds and XML in the JSON view, and accepts them under other roots', () => {
    refused(
      diff(
        remoteState((state) => {
          const text = new Y.Text();
          state.set('t', text);
          text.insert(0, 'bold', { bold: true });
        }),
      ),
    );
    refused(
      diff(
        remoteState((state) => {
          const text = new Y.Text();
          state.set('t', text);
          text.insertEmbed(0, { image: 'x.png' });
        }),
      ),
    );
    refused(diff(remoteState((state) => state.set('x', new Y.XmlFragment()))));
    refused(diff(remoteState((state) => state.set('x', new Y.XmlText()))));

    const editor = new Y.Doc();
    editor.getText('codemirror').insert(0, 'code', { bold: true });
    editor.getText('codemirror').insertEmbed(4, { widget: 1 });
    const fragment = editor.getXmlFragment('prosemirror');
    const paragraph = new Y.XmlElement('paragraph');
    fragment.insert(0, [paragraph]);
    paragraph.setAttribute('align', 'left');
    paragraph.insert(0, [new Y.XmlText('hello')]);
    accepted(diff(editor));
    // The value rules still hold there.
    const bad = new Y.Doc();
    bad.getText('codemirror').insert(0, 'x', { link: JSON.parse('{"__proto__": 1}') });
    refused(diff(bad));
  });

  it('refuses lone surrogates that arrive through JSON-encoded content (ContentJSON, ContentEmbed, ContentFormat)', () => {
    const json = (text: string) => (e: encoding.Encoder) => {
      encoding.writeVarUint(e, 1);
      encoding.writeVarString(e, text);
    };
    refused(craft(2, 'state', 'k', json(JSON.stringify('a\ud800'))));
    refused(craft(2, 'state', 'k', json(JSON.stringify({ 'k\udc00': 1 }))));
    refused(craft(2, 'state', 'k', json('undefined'))); // Yjs reads "undefined" as undefined
    accepted(craft(2, 'state', 'k', json(JSON.stringify({ fine: ['ok'] }))));
    refused(
      craft(5, 'codemirror', null, (e) => encoding.writeVarString(e, JSON.stringify({ alt: '\udfff' }))),
    );
    refused(
      craft(6, 'codemirror', null, (e) => {
        encoding.writeVarString(e, 'bold');
        encoding.writeVarString(e, JSON.stringify('\ud83d'));
      }),
    );
    refused(
      craft(6, 'codemirror', null, (e) => {
        encoding.writeVarString(e, '__proto__');
        encoding.writeVarString(e, 'true');
      }),
    );
    refused(craft(5, 'codemirror', null, (e) => encoding.writeVarString(e, '{"__proto__": 1}')));
  });

  it('refuses __proto__ keys (map keys, root names, keys inside values) and prototype under constructor', () => {
    refused(diff(remoteState((state) => state.set('__proto__', 1))));
    const root = new Y.Doc();
    root.getMap('__proto__').set('a', 1);
    refused(diff(root));
    // A primitive under __proto__ vanishes when lib0 decodes it: only the bytes show it.
    refused(diff(remoteState((state) => state.set('x', JSON.parse('{"a": {"__proto__": 1}}')))));
    refused(diff(remoteState((state) => state.set('x', JSON.parse('{"__proto__": {"y": 1}}')))));
    refused(diff(remoteState((state) => state.set('x', [JSON.parse('{"__proto__": null}')]))));
    accepted(diff(remoteState((state) => state.set('x', '__proto__')))); // as a value it is text
    refused(diff(remoteState((state) => state.set('constructor', { prototype: 1 }))));
    refused(
      diff(
        remoteState((state) => {
          const inner = new Y.Map();
          state.set('constructor', inner);
          inner.set('prototype', 1);
        }),
      ),
    );
    accepted(
      diff(remoteState((state) => state.set('constructor', { proto: 1, prototypes: { prototype: 1 } }))),
    );
  });

  it('refuses nesting deeper than MAX_DEPTH, in values and in nested types', () => {
    const nested = (depth: number): Json => (depth === 0 ? 1 : { a: nested(depth - 1) });
    accepted(diff(remoteState((state) => state.set('v', nested(MAX_DEPTH - 1)))));
    refused(diff(remoteState((state) => state.set('v', nested(MAX_DEPTH)))));
    const types = (depth: number) =>
      remoteState((state) => {
        let map = state;
        for (let i = 1; i < depth; i++) {
          const child = new Y.Map<unknown>();
          map.set('a', child);
          map = child;
        }
        map.set('leaf', 1);
      });
    accepted(diff(types(MAX_DEPTH)));
    refused(diff(types(MAX_DEPTH + 1)));
  });

  it('finds the parent of a struct in the target document: what it holds decides', () => {
    const target = new StateDocument('t');
    target.set('/todos', [1]);
    target.set('/notes', collaborativeText('abc'));
    const remote = new Y.Doc();
    Y.applyUpdate(remote, Y.encodeStateAsUpdate(target.ydoc));
    const todos = remote.getMap('state').get('todos') as Y.Array<unknown>;
    const notes = remote.getMap('state').get('notes') as Y.Text;

    const before = Y.encodeStateVector(remote);
    todos.push([2, { three: 3 }]);
    notes.insert(3, 'def');
    accepted(Y.encodeStateAsUpdate(remote, before), target.ydoc);

    const before2 = Y.encodeStateVector(remote);
    todos.push([new Y.XmlElement('p')]);
    refused(Y.encodeStateAsUpdate(remote, before2), target.ydoc);

    const remote3 = new Y.Doc();
    Y.applyUpdate(remote3, Y.encodeStateAsUpdate(target.ydoc));
    const before3 = Y.encodeStateVector(remote3);
    (remote3.getMap('state').get('notes') as Y.Text).format(0, 1, { bold: true });
    refused(Y.encodeStateAsUpdate(remote3, before3), target.ydoc);
  });

  it('follows origins inside the update (items appended after others carry no parent of their own)', () => {
    const remote = new Y.Doc();
    const list = new Y.Array<unknown>();
    remote.getMap('state').set('list', list);
    list.push([1]);
    list.push([new Y.XmlText('x')]); // its parent is known only through its left origin
    refused(diff(remote));
    const fine = new Y.Doc();
    const ok = new Y.Array<unknown>();
    fine.getMap('state').set('list', ok);
    for (let i = 0; i < 200; i++) ok.push([i]);
    accepted(diff(fine));
  });

  it('applies the strict rules where the parent is not known yet: JSON values pass, types and text wait', () => {
    const remote = new Y.Doc();
    const base = new Y.Map<unknown>();
    remote.getMap('state').set('m', base);
    const target = new Y.Doc(); // has not seen `m`
    const before = Y.encodeStateVector(remote);
    base.set('leaf', 1);
    const leaf = Y.encodeStateAsUpdate(remote, before);
    accepted(leaf, target);
    const before2 = Y.encodeStateVector(remote);
    base.set('child', new Y.Map());
    refused(Y.encodeStateAsUpdate(remote, before2), target);
    const before3 = Y.encodeStateVector(remote);
    base.set('bad', 1n);
    refused(Y.encodeStateAsUpdate(remote, before3), target);
  });

  it('lets deletions through: removing content is always representable', () => {
    const target = new StateDocument('t');
    target.set('/a', 1);
    const remote = new Y.Doc();
    Y.applyUpdate(remote, Y.encodeStateAsUpdate(target.ydoc));
    const before = Y.encodeStateVector(remote);
    remote.getMap('state').delete('a');
    accepted(Y.encodeStateAsUpdate(remote, before), target.ydoc);
  });
});

describe('the gate, against updates on their way to the document', () => {
  /** The gate's answer for `update` against `target` plus `ahead`: its items, or the refusal's code. */
  function gateAhead(update: Uint8Array, target: Y.Doc, ahead: GatedItems[]): GatedItems | string {
    try {
      return gateJsonForm(Y.decodeUpdate(update), target, update, ahead);
    } catch (error) {
      if (isYStateError(error)) return error.code;
      throw error;
    }
  }

  /** An editor replica of `target`, and a function that returns what it wrote since the last call. */
  function editorOf(target: Y.Doc): { remote: Y.Doc; next: () => Uint8Array } {
    const remote = new Y.Doc();
    Y.applyUpdate(remote, Y.encodeStateAsUpdate(target));
    let before = Y.encodeStateVector(remote);
    const next = () => {
      const update = Y.encodeStateAsUpdate(remote, before);
      before = Y.encodeStateVector(remote);
      return update;
    };
    return { remote, next };
  }

  it('places a keystroke whose origin is the previous, still in flight, by that keystroke: the JSON view rules apply', () => {
    const target = new StateDocument('t');
    target.set('/notes', collaborativeText('abc'));
    const { remote, next } = editorOf(target.ydoc);
    const notes = remote.getMap('state').get('notes') as Y.Text;
    notes.insert(3, 'd');
    const first = gateAhead(next(), target.ydoc, []);
    if (typeof first === 'string') throw new Error(`the first keystroke was refused: ${first}`);
    notes.insert(4, 'e'); // its origin is "d", which `target` does not hold yet
    const second = next();
    // Alone, its parent is unknown and text must wait; with the first keystroke ahead, it is text in a Y.Text.
    expect(gateAhead(second, target.ydoc, [])).toBe(ErrorCode.INVALID_VALUE);
    expect(typeof gateAhead(second, target.ydoc, [first])).toBe('object');
    notes.insertEmbed(5, { image: 'x' }); // right after "e": in the JSON view's Y.Text, refused
    const embed = next();
    const secondItems = gateAhead(second, target.ydoc, [first]) as GatedItems;
    expect(gateAhead(embed, target.ydoc, [first, secondItems])).toBe(ErrorCode.INVALID_VALUE);
  });

  it('places items under a type that an update in flight creates', () => {
    const target = new StateDocument('t');
    target.set('/x', 1);
    const { remote, next } = editorOf(target.ydoc);
    const m = new Y.Map<unknown>();
    remote.getMap('state').set('m', m);
    const created = gateAhead(next(), target.ydoc, []);
    if (typeof created === 'string') throw new Error(`the map was refused: ${created}`);
    m.set('child', new Y.Map());
    expect(typeof gateAhead(next(), target.ydoc, [created])).toBe('object');
    m.set('xml', new Y.XmlElement('p'));
    expect(gateAhead(next(), target.ydoc, [created])).toBe(ErrorCode.INVALID_VALUE);
  });

  it('does not settle the kind of a root the document does not hold yet: that takes the document itself', () => {
    const target = new Y.Doc();
    const { remote, next } = editorOf(target);
    remote.getText('codemirror').insert(0, 'a');
    const first = gateAhead(next(), target, []);
    if (typeof first === 'string') throw new Error(`the first keystroke was refused: ${first}`);
    remote.getText('codemirror').insert(1, 'b');
    expect(gateAhead(next(), target, [first])).toBe(ErrorCode.INVALID_VALUE);
  });
});

describe('issue 13, finding 3: lone surrogates on the patch path', () => {
  it('refuses them in keys and in values, as a whole patch, changing nothing', () => {
    const doc = new StateDocument('d');
    doc.set('/ok', 1);
    const before = Y.encodeStateAsUpdate(doc.ydoc);
    const attempts: unknown[] = [
      [{ op: 'add', path: '/k\ud800', value: 'v' }],
      [{ op: 'add', path: '/k', value: 'v\udc00' }],
      [{ op: 'add', path: '/k', value: { 'x\ud800': 1 } }],
      [{ op: 'add', path: '/k', value: ['\udbff'] }],
      [
        { op: 'add', path: '/fine', value: 1 },
        { op: 'replace', path: '/ok', value: '\ud800' },
      ],
    ];
    for (const patch of attempts) {
      const code = codeOf(() => doc.applyPatch(patch));
      expect(code).toBe(ErrorCode.INVALID_VALUE);
    }
    expect(codeOf(() => doc.set('/t', collaborativeText('a\ud800')))).toBe(ErrorCode.INVALID_VALUE);
    doc.set('/t', collaborativeText('ab'));
    expect(codeOf(() => doc.spliceText('/t', 1, 0, '\udc00'))).toBe(ErrorCode.INVALID_VALUE);
    expect(doc.get('/t')).toBe('ab');
    doc.delete('/t');
    expect(doc.toJSON()).toEqual({ ok: 1 });
    expect(Y.encodeStateAsUpdate(doc.ydoc)).not.toEqual(before); // the delete, nothing refused
    // A well-formed pair is an ordinary character.
    doc.applyPatch([{ op: 'add', path: '/k😀', value: 'v😀' }]);
    expect(doc.get('/k😀')).toBe('v😀');
  });

  it('refuses nesting deeper than MAX_DEPTH with INVALID_VALUE, not a stack overflow', () => {
    const doc = new StateDocument('d');
    let deep: Json = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(codeOf(() => doc.applyPatch([{ op: 'add', path: '/d', value: deep }]))).toBe(
      ErrorCode.INVALID_VALUE,
    );
    expect(codeOf(() => doc.set('/d', deep))).toBe(ErrorCode.INVALID_VALUE);
    let fits: Json = 1;
    for (let i = 0; i < MAX_DEPTH - 1; i++) fits = [fits];
    doc.set('/d', fits);
    expect(codeOf(() => doc.set('/d/0', fits))).toBe(ErrorCode.INVALID_VALUE);
    doc.applyPatch([{ op: 'add', path: '/big', value: 1e308 }]);
    expect(doc.get('/big')).toBe(1e308);
  });
});

describe('issue 13, finding 4: __proto__, constructor, prototype', () => {
  it('refuses __proto__ keys and the constructor/prototype pair on the patch path', () => {
    const doc = new StateDocument('d');
    doc.set('/constructor', {});
    for (const patch of [
      [{ op: 'add', path: '/__proto__', value: 1 }],
      [{ op: 'add', path: '/x', value: JSON.parse('{"__proto__": 1}') }],
      [{ op: 'add', path: '/x', value: [JSON.parse('{"a": {"__proto__": {}}}')] }],
      [{ op: 'add', path: '/constructor/prototype', value: 1 }],
      [{ op: 'add', path: '/x', value: { constructor: { prototype: 1 } } }],
    ]) {
      expect(codeOf(() => doc.applyPatch(patch))).toBe(ErrorCode.INVALID_VALUE);
    }
    expect(codeOf(() => doc.merge('/constructor', { prototype: 1 }))).toBe(ErrorCode.INVALID_VALUE);
    expect(doc.toJSON()).toEqual({ constructor: {} });
  });

  it('reads constructor and prototype back as own keys everywhere: live, after a reload, and in patches', () => {
    const doc = new StateDocument('d');
    const changes: Change[] = [];
    doc.onChange((change) => changes.push(change));
    doc.applyPatch([
      { op: 'add', path: '/constructor', value: { name: 'c' } },
      { op: 'add', path: '/prototype', value: [1] },
      { op: 'add', path: '/o', value: { constructor: 1, prototype: { constructor: 2 } } },
      { op: 'add', path: '/toString', value: 'own' },
    ]);
    const expected = {
      constructor: { name: 'c' },
      prototype: [1],
      o: { constructor: 1, prototype: { constructor: 2 } },
      toString: 'own',
    };
    const json = doc.toJSON();
    expect(json).toEqual(expected);
    for (const key of ['constructor', 'prototype', 'toString']) expect(Object.hasOwn(json, key)).toBe(true);
    expect(doc.get('/constructor/name')).toBe('c');
    expect(doc.get('/o/prototype/constructor')).toBe(2);
    expect(doc.get('/hasOwnProperty')).toBeUndefined();
    const reloaded = new Y.Doc();
    Y.applyUpdate(reloaded, Y.encodeStateAsUpdate(doc.ydoc));
    expect(toJsonValue(reloaded.getMap('state'))).toEqual(expected);
    const ops = changes.flatMap((c) => [...c.ops]) as jsonPatch.Operation[];
    expect(jsonPatch.applyPatch({}, ops, true, false).newDocument).toEqual(expected);
    doc.applyPatch([{ op: 'replace', path: '/constructor/name', value: 'd' }]);
    expect(doc.get('/constructor')).toEqual({ name: 'd' });
  });
});

describe('a write inside a value that a Yjs client stored as a plain object', () => {
  it('is a Yjs update (durable), not a change in place', () => {
    const doc = new StateDocument('d');
    const initial = Y.encodeStateAsUpdate(remoteState((state) => state.set('x', { a: 1, list: [1] })));
    Y.applyUpdate(doc.ydoc, initial);
    const updates: Uint8Array[] = [];
    doc.ydoc.on('update', (update: Uint8Array) => updates.push(update));
    doc.applyPatch([{ op: 'test', path: '/x/a', value: 1 }]);
    expect(updates).toHaveLength(0); // reading does not rewrite
    doc.applyPatch([
      { op: 'add', path: '/x/b', value: 2 },
      { op: 'add', path: '/x/list/-', value: 2 },
    ]);
    expect(updates).toHaveLength(1);
    const fromLog = new Y.Doc();
    Y.applyUpdate(fromLog, initial);
    for (const update of updates) Y.applyUpdate(fromLog, update);
    expect(toJsonValue(fromLog.getMap('state'))).toEqual({ x: { a: 1, b: 2, list: [1, 2] } });
    expect(doc.toJSON()).toEqual({ x: { a: 1, b: 2, list: [1, 2] } });
  });
});

/**
 * Values a hostile client can write through Yjs: JSON, plus everything without a JSON form, keys
 * included. Lone surrogates are left out here: Yjs's binary encoding (UTF-8) turns them into
 * U+FFFD before they leave the client, so the gate never sees them (the JSON-encoded contents
 * that can carry them are covered above).
 */
const hostileKey = fc.oneof(
  fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', ''),
  fc.string({ maxLength: 4 }),
);
/** Anything a client could hand to Yjs. */
type Hostile =
  | string
  | number
  | bigint
  | boolean
  | null
  | undefined
  | Uint8Array
  | Hostile[]
  | { [key: string]: Hostile };

const hostile = fc.letrec<{ value: Hostile }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constantFrom(
      null,
      true,
      false,
      undefined,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      -0,
    ),
    fc.double(),
    fc.integer(),
    fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }),
    fc.string({ maxLength: 6 }),
    fc.uint8Array({ maxLength: 3 }),
    fc.array(tie('value'), { maxLength: 3 }),
    fc
      .array(fc.tuple(hostileKey, tie('value')), { maxLength: 3 })
      .map((entries) => Object.fromEntries(entries)),
  ),
}));

/** The oracle: does `value`, held under `key`, have a JSON form? (Independent of the code under test.) */
function hasJsonForm(value: unknown, key: string | null): boolean {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return true;
  if (typeof value === 'number') return Number.isFinite(value);
  if (Array.isArray(value)) return value.every((item) => hasJsonForm(item, null));
  if (typeof value === 'object' && !(value instanceof Uint8Array)) {
    return Object.entries(value).every(
      ([k, item]) =>
        k !== '__proto__' && !(k === 'prototype' && key === 'constructor') && hasJsonForm(item, k),
    );
  }
  return false;
}

/** Writes `value` as a hostile Yjs client would: plain values as they are, or objects and arrays as Y types. */
function toY(value: unknown, asTypes: boolean): unknown {
  if (!asTypes) return value;
  if (Array.isArray(value)) {
    const array = new Y.Array<unknown>();
    array.push(value.map((item) => toY(item, asTypes)));
    return array;
  }
  if (typeof value === 'object' && value !== null && !(value instanceof Uint8Array)) {
    const map = new Y.Map<unknown>();
    for (const [k, item] of Object.entries(value)) map.set(k, toY(item, asTypes));
    return map;
  }
  return value;
}

describe('property: the gate refuses exactly what has no JSON form, and what passes reads back identically', () => {
  it('through Yjs directly, as a hostile client writes', () => {
    const property = fc.property(
      hostileKey,
      hostile.value,
      fc.boolean(),
      (key: string, value: Hostile, asTypes: boolean): void => {
        const remote = new Y.Doc();
        try {
          remote.getMap('state').set(key, toY(value, asTypes));
        } catch {
          return; // Yjs itself refuses some values (an object whose own `constructor` is not Object)
        }
        const update = Y.encodeStateAsUpdate(remote);
        const refusal = gate(update);
        const expected = key !== '__proto__' && hasJsonForm(value, key);
        expect(refusal === undefined).toBe(expected);
        if (refusal !== undefined) {
          expect(refusal.code).toBe(ErrorCode.INVALID_VALUE);
          return;
        }
        const live = new StateDocument('live');
        Y.applyUpdate(live.ydoc, update);
        const reloaded = new Y.Doc();
        Y.applyUpdate(reloaded, Y.encodeStateAsUpdate(live.ydoc));
        const json = { [key]: value };
        expect(live.toJSON()).toEqual(json);
        expect(toJsonValue(reloaded.getMap('state'))).toEqual(json);
        expect(live.get(`/${key.replaceAll('~', '~0').replaceAll('/', '~1')}`)).toEqual(value);
        expect(JSON.parse(JSON.stringify(live.toJSON()))).toEqual(JSON.parse(JSON.stringify(json)));
      },
    );
    fc.assert(property, { numRuns: 2000 });
  });

  it('through JSON Patch: refused exactly when the value has no JSON form, never half-applied', () => {
    const withSurrogates = fc.oneof(hostile.value, fc.constantFrom('\ud800', 'a\udc00b', { 'k\ud801': 1 }));
    const property = fc.property(hostileKey, withSurrogates, (key: string, value: Hostile): void => {
      const doc = new StateDocument('d');
      doc.set('/before', 1);
      const pointer = `/${key.replaceAll('~', '~0').replaceAll('/', '~1')}`;
      const code = codeOf(() => doc.applyPatch([{ op: 'add', path: pointer, value }]));
      const expected = key !== '__proto__' && hasJsonForm(value, key) && !hasLone(value);
      if (!expected) {
        expect(code).toBe(ErrorCode.INVALID_VALUE);
        expect(doc.toJSON()).toEqual({ before: 1 });
        return;
      }
      expect(code).toBeUndefined();
      const reloaded = new Y.Doc();
      Y.applyUpdate(reloaded, Y.encodeStateAsUpdate(doc.ydoc));
      expect(toJsonValue(reloaded.getMap('state'))).toEqual({
        ...(key === 'before' ? {} : { before: 1 }),
        [key]: value,
      });
    });
    fc.assert(property, { numRuns: 2000 });
  });
});

describe('property: what ystate itself writes always passes the gate', () => {
  it('every update of random path-API edits passes against the replica that receives it', () => {
    const json = fc.letrec<{ j: Json }>((tie) => ({
      j: fc.oneof(
        { depthSize: 'small' },
        fc.constantFrom(null, true, 0, -1.5, 'x', 'é😀', 'constructor', 'prototype'),
        fc.array(tie('j'), { maxLength: 3 }),
        fc.dictionary(fc.constantFrom('a', 'b', 'constructor', 'prototype'), tie('j'), { maxKeys: 3 }),
      ),
    })).j;
    const edit = fc.oneof(
      fc.record({ kind: fc.constant('set' as const), key: fc.constantFrom('a', 'b', 'c'), value: json }),
      fc.record({ kind: fc.constant('push' as const), value: json }),
      fc.record({
        kind: fc.constant('text' as const),
        at: fc.nat(4),
        text: fc.constantFrom('', 'hi', '😀', 'é'),
      }),
      fc.record({ kind: fc.constant('delete' as const), key: fc.constantFrom('a', 'b', 'c') }),
    );
    const property = fc.property(fc.array(edit, { maxLength: 12 }), (edits) => {
      const doc = new StateDocument('d');
      const replica = new Y.Doc();
      doc.ydoc.on('update', (update: Uint8Array) => {
        expect(gate(update, replica)).toBeUndefined();
        Y.applyUpdate(replica, update);
      });
      doc.set('/list', []);
      doc.set('/text', collaborativeText('abcd'));
      for (const e of edits) {
        if (e.kind === 'set')
          codeOf(() => doc.set(`/${e.key}`, e.value)); // refused: constructor/prototype
        else if (e.kind === 'push') codeOf(() => doc.push('/list', e.value));
        else if (e.kind === 'delete') codeOf(() => doc.delete(`/${e.key}`));
        else {
          const length = (doc.get('/text') as string).length;
          codeOf(() => doc.spliceText('/text', Math.min(e.at, length), 0, e.text));
        }
      }
      expect(toJsonValue(replica.getMap('state'))).toEqual(doc.toJSON());
    });
    fc.assert(property, { numRuns: 200 });
  });
});

function hasLone(value: unknown): boolean {
  const lone = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
  if (typeof value === 'string') return lone.test(value);
  if (Array.isArray(value)) return value.some(hasLone);
  if (typeof value === 'object' && value !== null && !(value instanceof Uint8Array)) {
    return Object.entries(value).some(([k, item]) => lone.test(k) || hasLone(item));
  }
  return false;
}

describe('assertJsonForm: what Yjs itself produces', () => {
  it('accepts overwritten values of one key merged into one deleted struct (a document with gc off)', () => {
    const doc = new Y.Doc({ gc: false });
    const map = doc.getMap('state');
    for (let i = 0; i < 5; i++) map.set('k', i);
    const update = Y.encodeStateAsUpdate(doc);
    const merged = Y.decodeUpdate(update).structs.some(
      (s) => s instanceof Y.Item && s.content instanceof Y.ContentAny && s.content.arr.length > 1,
    );
    expect(merged).toBe(true);
    expect(() => assertJsonForm(Y.decodeUpdate(update), new Y.Doc(), update)).not.toThrow();
  });
});
