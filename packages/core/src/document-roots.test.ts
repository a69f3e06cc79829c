import fc from 'fast-check';
import jsonpatch from 'fast-json-patch';
import { schema } from 'prosemirror-schema-basic';
import { EditorState } from 'prosemirror-state';
import { describe, expect, it } from 'vitest';
import {
  prosemirrorJSONToYXmlFragment,
  updateYFragment,
  yXmlFragmentToProseMirrorRootNode,
} from 'y-prosemirror';
import * as Y from 'yjs';
import { documentJson } from './document-roots.js';
import { isYStateError } from './errors.js';
import type { Json } from './json.js';
import { assertJsonForm } from './json-form.js';
import { type Change, StateDocument } from './state-document.js';

const REMOTE = Symbol('remote');

/** A server-side document fed with a client's updates, checking every change's patch against its JSON. */
function watched(name = 'server'): { doc: StateDocument; faults: string[]; changes: Change[] } {
  const doc = new StateDocument(name);
  const faults: string[] = [];
  const changes: Change[] = [];
  let shadow: Json = doc.toJSON();
  doc.onChange((change) => {
    changes.push(change);
    const next = jsonpatch.applyPatch(
      structuredClone(shadow),
      change.ops as jsonpatch.Operation[],
      true,
      false,
    ).newDocument as Json;
    const actual = doc.toJSON();
    if (JSON.stringify(sortKeys(next)) !== JSON.stringify(sortKeys(actual)))
      faults.push(
        `${JSON.stringify(change.ops)} gave ${JSON.stringify(next)}, expected ${JSON.stringify(actual)}`,
      );
    shadow = actual;
  });
  return { doc, faults, changes };
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((key) => [key, sortKeys((value as Record<string, unknown>)[key])]),
    );
  return value;
}

/** Sends every update of `from` to `to` from now on. */
function link(from: Y.Doc, to: Y.Doc): void {
  from.on('update', (update: Uint8Array, origin: unknown) => {
    if (origin !== REMOTE) Y.applyUpdate(to, update, REMOTE);
  });
}

/** A headless ProseMirror editor bound to a fragment with y-prosemirror's own conversion functions. */
class HeadlessEditor {
  state: EditorState;
  constructor(readonly fragment: Y.XmlFragment) {
    this.state = EditorState.create({ schema, doc: yXmlFragmentToProseMirrorRootNode(fragment, schema) });
  }
  /** Runs a ProseMirror transaction and writes the result into the fragment (y-prosemirror's sync path). */
  edit(change: (state: EditorState) => EditorState['tr']): void {
    this.state = this.state.apply(change(this.state));
    const ydoc = this.fragment.doc as Y.Doc;
    updateYFragment(ydoc, this.fragment, this.state.doc, { mapping: new Map(), isOMark: new Map() });
  }
  /** Reads the fragment back, as the binding does on a remote change. */
  refresh(): void {
    this.state = EditorState.create({
      schema,
      doc: yXmlFragmentToProseMirrorRootNode(this.fragment, schema),
    });
  }
  /** The position at the end of the text of top-level block `index`. */
  endOf(index: number): number {
    let pos = 0;
    for (let i = 0; i < index; i++) pos += this.state.doc.child(i).nodeSize;
    return pos + this.state.doc.child(index).nodeSize - 1;
  }
}

const article = {
  type: 'doc',
  content: [
    { type: 'heading', attrs: { level: 1 }, content: [{ type: 'text', text: 'Minutes' }] },
    {
      type: 'paragraph',
      content: [
        { type: 'text', text: 'We agreed to ' },
        { type: 'text', text: 'ship', marks: [{ type: 'strong' }] },
        { type: 'text', text: ' on Friday.' },
      ],
    },
    {
      type: 'paragraph',
      content: [
        { type: 'text', text: 'See ' },
        {
          type: 'text',
          text: 'the plan',
          marks: [{ type: 'link', attrs: { href: 'https://x.test', title: null } }],
        },
      ],
    },
  ],
};

describe('ProseMirror documents (y-prosemirror)', () => {
  it('read as the editor JSON, with an exact patch for every transaction', () => {
    const client = new Y.Doc();
    const { doc, faults } = watched();
    link(client, doc.ydoc);
    prosemirrorJSONToYXmlFragment(schema, article, client.getXmlFragment('prosemirror'));
    const editor = new HeadlessEditor(client.getXmlFragment('prosemirror'));
    expect(doc.toJSON()).toEqual({ $roots: { prosemirror: editor.state.doc.toJSON() } });
    expect(editor.state.doc.toJSON()).toEqual(article);

    editor.edit((state) => state.tr.insertText(' Really.', editor.endOf(1)));
    editor.edit((state) => state.tr.addMark(1, 8, schema.marks.em.create()));
    editor.edit((state) => state.tr.split(editor.endOf(0) - 3));
    editor.edit((state) => state.tr.setBlockType(1, 3, schema.nodes.paragraph));
    editor.edit((state) => state.tr.delete(2, 5));
    editor.edit((state) => state.tr.insert(state.doc.content.size, schema.nodes.horizontal_rule.create()));
    expect(faults).toEqual([]);
    expect(doc.get('/$roots/prosemirror')).toEqual(editor.state.doc.toJSON());
    // stateAt: a document rebuilt from the bytes shows the same.
    const rebuilt = new Y.Doc();
    Y.applyUpdate(rebuilt, Y.encodeStateAsUpdate(client));
    expect(documentJson(rebuilt)).toEqual(doc.toJSON());
  });

  it('an agent replaces a paragraph’s text and inserts a paragraph while a person types in both places', () => {
    const client = new Y.Doc();
    const { doc, faults } = watched();
    link(client, doc.ydoc);
    prosemirrorJSONToYXmlFragment(schema, article, client.getXmlFragment('prosemirror'));
    const editor = new HeadlessEditor(client.getXmlFragment('prosemirror'));
    // The agent's base: the state it read.
    const base = Y.encodeStateAsUpdate(doc.ydoc);
    const seen = doc.get('/$roots/prosemirror/content/1') as { content: { text: string }[] };
    expect(seen.content[0]?.text).toBe('We agreed to ');

    // Meanwhile the person types at the end of paragraph 1 and at the start of paragraph 2.
    editor.edit((state) => state.tr.insertText(' (late)', editor.endOf(1)));
    editor.edit((state) => state.tr.insertText('Also: ', editor.endOf(1) + 2));

    doc.applyPatch(
      [
        { op: 'test', path: '/$roots/prosemirror/content/1/content/0/text', value: 'We agreed to ' },
        { op: 'replace', path: '/$roots/prosemirror/content/1/content/0/text', value: 'Everyone agreed to ' },
        {
          op: 'add',
          path: '/$roots/prosemirror/content/2',
          value: { type: 'paragraph', content: [{ type: 'text', text: 'Added by the agent.' }] },
        },
      ],
      { base },
    );
    Y.applyUpdate(client, Y.encodeStateAsUpdate(doc.ydoc), REMOTE);
    editor.refresh();
    const blocks = editor.state.doc.toJSON().content as { content?: { text: string }[] }[];
    const texts = blocks.map((block) => (block.content ?? []).map((node) => node.text).join(''));
    expect(texts).toEqual([
      'Minutes',
      'Everyone agreed to ship on Friday. (late)',
      'Added by the agent.',
      'Also: See the plan',
    ]);
    editor.state.doc.check(); // valid for the schema
    expect(doc.get('/$roots/prosemirror')).toEqual(editor.state.doc.toJSON());
    expect(faults).toEqual([]);
  });

  it('marks and attributes change through a patch; a malformed tree is refused and changes nothing', () => {
    const client = new Y.Doc();
    prosemirrorJSONToYXmlFragment(schema, article, client.getXmlFragment('prosemirror'));
    const { doc, faults } = watched();
    Y.applyUpdate(doc.ydoc, Y.encodeStateAsUpdate(client));
    doc.applyPatch([
      { op: 'replace', path: '/$roots/prosemirror/content/0/attrs/level', value: 2 },
      { op: 'add', path: '/$roots/prosemirror/content/1/content/2/marks', value: [{ type: 'em' }] },
      { op: 'remove', path: '/$roots/prosemirror/content/1/content/1/marks' },
    ]);
    // Text nodes with equal marks are joined, as ProseMirror joins them.
    expect(doc.get('/$roots/prosemirror/content/1/content')).toEqual([
      { type: 'text', text: 'We agreed to ship' },
      { type: 'text', text: ' on Friday.', marks: [{ type: 'em' }] },
    ]);
    Y.applyUpdate(client, Y.encodeStateAsUpdate(doc.ydoc));
    const node = yXmlFragmentToProseMirrorRootNode(client.getXmlFragment('prosemirror'), schema);
    node.check();
    expect(node.toJSON()).toEqual(doc.get('/$roots/prosemirror'));
    expect(node.child(0).attrs.level).toBe(2);
    expect(node.child(1).textContent).toBe('We agreed to ship on Friday.');
    expect(
      node
        .child(1)
        .child(1)
        .marks.map((mark) => mark.type.name),
    ).toEqual(['em']);
    expect(faults).toEqual([]);

    const before = Y.encodeStateVector(doc.ydoc);
    for (const bad of [
      [{ op: 'add', path: '/$roots/prosemirror/content/0/content/-', value: { type: 'text', text: '' } }],
      [
        {
          op: 'add',
          path: '/$roots/prosemirror/content/1/content/1',
          value: { type: 'text', text: 'x', marks: [] },
        },
      ],
      [{ op: 'replace', path: '/$roots/prosemirror/type', value: 'page' }],
      [{ op: 'add', path: '/$roots/prosemirror/content/0/colour', value: 'red' }],
      [
        { op: 'replace', path: '/$roots/prosemirror/content/0/content/0/text', value: 'Changed' },
        { op: 'add', path: '/$roots/prosemirror/content/1/attrs', value: {} },
      ],
    ]) {
      expect(() => doc.applyPatch(bad), JSON.stringify(bad)).toThrow(
        expect.objectContaining({ code: 'INVALID_VALUE' }),
      );
    }
    expect(Y.encodeStateVector(doc.ydoc)).toEqual(before);
  });
});

describe('CodeMirror / Monaco style: a top-level Y.Text', () => {
  it('is a string; edits splice, so concurrent typing survives; formatting is read as a delta', () => {
    const client = new Y.Doc();
    const { doc, faults } = watched();
    link(client, doc.ydoc);
    const text = client.getText('codemirror');
    text.insert(0, 'function add(a, b) {\n  return a + b;\n}\n');
    expect(doc.toJSON()).toEqual({ $roots: { codemirror: text.toString() } });
    const base = Y.encodeStateAsUpdate(doc.ydoc);
    text.insert(0, '// math\n');
    doc.applyPatch(
      [{ op: 'replace', path: '/$roots/codemirror', value: 'function sum(a, b) {\n  return a + b;\n}\n' }],
      {
        base,
      },
    );
    Y.applyUpdate(client, Y.encodeStateAsUpdate(doc.ydoc), REMOTE);
    expect(text.toString()).toBe('// math\nfunction sum(a, b) {\n  return a + b;\n}\n');
    text.delete(0, text.length);
    expect(doc.toJSON()).toEqual({});
    expect(faults).toEqual([]);
  });
});

describe('whiteboards: top-level maps and arrays', () => {
  it('show under their names; agents add, edit and remove them', () => {
    const client = new Y.Doc();
    const { doc, faults } = watched();
    link(client, doc.ydoc);
    const shapes = client.getMap<Y.Map<unknown>>('shapes');
    const order = client.getArray<string>('order');
    client.transact(() => {
      const rect = new Y.Map<unknown>();
      rect.set('kind', 'rect');
      rect.set('x', 10);
      shapes.set('r1', rect);
      order.push(['r1']);
    });
    client.getMap('state').set('title', 'Board');
    expect(doc.toJSON()).toEqual({
      title: 'Board',
      $roots: { shapes: { r1: { kind: 'rect', x: 10 } }, order: ['r1'] },
    });
    doc.applyPatch([
      { op: 'replace', path: '/$roots/shapes/r1/x', value: 42 },
      { op: 'add', path: '/$roots/shapes/c1', value: { kind: 'circle', r: 3 } },
      { op: 'add', path: '/$roots/order/-', value: 'c1' },
      { op: 'add', path: '/$roots/notes', value: ['new root'] },
    ]);
    Y.applyUpdate(client, Y.encodeStateAsUpdate(doc.ydoc), REMOTE);
    expect(shapes.get('r1')?.get('x')).toBe(42);
    expect(order.toArray()).toEqual(['r1', 'c1']);
    expect(client.getArray('notes').toArray()).toEqual(['new root']);
    doc.applyPatch([{ op: 'remove', path: '/$roots/notes' }]);
    expect(doc.get('/$roots/notes')).toBeUndefined();

    for (const [bad, code] of [
      [{ op: 'replace', path: '/$roots/order', value: { not: 'an array' } }, 'TYPE_MISMATCH'],
      [{ op: 'add', path: '/$roots/empty', value: {} }, 'INVALID_VALUE'],
      [{ op: 'add', path: '/$roots/state', value: { a: 1 } }, 'TYPE_MISMATCH'],
    ] as const) {
      expect(() => doc.applyPatch([bad]), JSON.stringify(bad)).toThrow(expect.objectContaining({ code }));
    }
    expect(faults).toEqual([]);
  });

  it('the gate refuses the reserved key $roots in the root map', () => {
    const client = new Y.Doc();
    client.getMap('state').set('$roots', 1);
    const update = Y.encodeStateAsUpdate(client);
    const target = new Y.Doc();
    let error: unknown;
    try {
      assertJsonForm(Y.decodeUpdate(update), target, update);
    } catch (caught) {
      error = caught;
    }
    expect(isYStateError(error, 'INVALID_VALUE')).toBe(true);
  });
});

describe('a root keeps the kind it was recognised as', () => {
  it('the gate refuses content of another kind for a root the document knows', () => {
    const { doc } = watched();
    const writer = new Y.Doc();
    writer.getText('notes').insert(0, 'text');
    Y.applyUpdate(doc.ydoc, Y.encodeStateAsUpdate(writer));
    expect(doc.toJSON()).toEqual({ $roots: { notes: 'text' } });
    // Another client uses the same root name as an array.
    const other = new Y.Doc();
    other.getArray('notes').push([1]);
    const update = Y.encodeStateAsUpdate(other);
    expect(() => assertJsonForm(Y.decodeUpdate(update), doc.ydoc, update)).toThrow(
      /in the root, which is a Y\.Text/,
    );
    // Text of the same kind passes.
    const more = new Y.Doc();
    Y.applyUpdate(more, Y.encodeStateAsUpdate(writer));
    const before = Y.encodeStateVector(more);
    more.getText('notes').insert(4, '!', { bold: true });
    const fits = Y.encodeStateAsUpdate(more, before);
    expect(() => assertJsonForm(Y.decodeUpdate(fits), doc.ydoc, fits)).not.toThrow();
  });
});

/** One random change a client makes to one of the roots. */
type Step = { client: number; kind: number; a: number; b: number; text: string };

function applyStep(ydoc: Y.Doc, step: Step): void {
  const pick = <T>(list: readonly T[], n: number): T | undefined =>
    list.length === 0 ? undefined : list[n % list.length];
  switch (step.kind % 11) {
    case 0:
      ydoc.getMap('state').set(`k${step.a % 4}`, step.text);
      break;
    case 1: {
      const board = ydoc.getMap<unknown>('board');
      if (step.b % 3 === 0) board.delete(`s${step.a % 3}`);
      else {
        const shape = new Y.Map<unknown>();
        shape.set('x', step.b);
        board.set(`s${step.a % 3}`, shape);
      }
      break;
    }
    case 2: {
      const list = ydoc.getArray<unknown>('list');
      if (step.b % 3 === 0 && list.length > 0) list.delete(step.a % list.length, 1);
      else list.insert(step.a % (list.length + 1), [step.text]);
      break;
    }
    case 3: {
      const text = ydoc.getText('code');
      if (step.b % 3 === 0 && text.length > 0) text.delete(step.a % text.length, 1);
      else text.insert(step.a % (text.length + 1), step.text, step.b % 2 === 0 ? { bold: true } : {});
      break;
    }
    case 4: {
      // A new block with text (as y-prosemirror writes it).
      const fragment = ydoc.getXmlFragment('rich');
      const block = new Y.XmlElement(step.b % 2 === 0 ? 'paragraph' : 'heading');
      if (step.b % 2 === 1)
        // y-prosemirror stores attributes as they are: a heading's level is a number.
        block.setAttribute('level', ((step.b % 3) + 1) as unknown as string);
      const text = new Y.XmlText();
      text.insert(0, step.text || 'x');
      block.insert(0, [text]);
      fragment.insert(step.a % (fragment.length + 1), [block]);
      break;
    }
    case 5: {
      // Typing (maybe with a mark) in an existing block.
      const block = pick(ydoc.getXmlFragment('rich').toArray(), step.a);
      const text = block instanceof Y.XmlElement ? block.get(0) : undefined;
      if (text instanceof Y.XmlText) {
        const marks =
          step.b % 3 === 0 ? { strong: {} } : step.b % 3 === 1 ? { link: { href: step.text } } : {};
        text.insert(step.b % (text.length + 1), step.text, marks);
      }
      break;
    }
    case 6: {
      const block = pick(ydoc.getXmlFragment('rich').toArray(), step.a);
      const text = block instanceof Y.XmlElement ? block.get(0) : undefined;
      if (text instanceof Y.XmlText && text.length > 0) {
        const at = step.b % text.length;
        if (step.a % 2 === 0) text.delete(at, 1);
        else text.format(at, Math.min(2, text.length - at), { em: step.a % 4 === 1 ? {} : null });
      }
      break;
    }
    case 7: {
      const fragment = ydoc.getXmlFragment('rich');
      const block = pick(fragment.toArray(), step.a);
      if (block instanceof Y.XmlElement) {
        if (step.b % 2 === 0) fragment.delete(step.a % fragment.length, 1);
        else block.setAttribute('align', step.text);
      }
      break;
    }
    case 8: {
      // An inline node after the text of a block, and text after it: [text, image, text].
      const block = pick(ydoc.getXmlFragment('rich').toArray(), step.a);
      if (block instanceof Y.XmlElement) {
        const image = new Y.XmlElement('image');
        image.setAttribute('src', step.text);
        const before = new Y.XmlText();
        before.insert(0, 'ab');
        before.insert(1, 'c', { strong: {} });
        const after = new Y.XmlText();
        after.insert(0, step.text || 'z', step.b % 2 === 0 ? { em: {} } : {});
        block.insert(block.length, [before, image, after]);
      }
      break;
    }
    case 9: {
      // An inline node's attribute changes (its path counts the text runs before it).
      const block = pick(ydoc.getXmlFragment('rich').toArray(), step.a);
      const inline =
        block instanceof Y.XmlElement
          ? block.toArray().find((child) => child instanceof Y.XmlElement && child.nodeName === 'image')
          : undefined;
      if (inline instanceof Y.XmlElement) inline.setAttribute('alt', step.text);
      break;
    }
    default: {
      // Nested XML: a list with an item, inside the fragment.
      const fragment = ydoc.getXmlFragment('rich');
      const list = new Y.XmlElement('bullet_list');
      const item = new Y.XmlElement('list_item');
      const para = new Y.XmlElement('paragraph');
      const text = new Y.XmlText();
      text.insert(0, step.text || 'y');
      para.insert(0, [text]);
      item.insert(0, [para]);
      list.insert(0, [item]);
      fragment.insert(step.a % (fragment.length + 1), [list]);
    }
  }
}

describe('random documents of every root kind', () => {
  it('every transaction’s patch replays exactly, with concurrent remote updates delivered in any order', () => {
    const step = fc.record({
      client: fc.nat(2),
      kind: fc.nat(),
      a: fc.nat(50),
      b: fc.nat(50),
      text: fc.string({ maxLength: 3 }),
    });
    fc.assert(
      fc.property(
        fc.array(step, { maxLength: 40 }),
        fc.array(fc.nat(), { maxLength: 40 }),
        (steps, order) => {
          const clients = [new Y.Doc(), new Y.Doc(), new Y.Doc()];
          const { doc, faults } = watched();
          const pending: Uint8Array[] = [];
          const applied: Uint8Array[] = [];
          for (const client of clients) {
            client.on('update', (update: Uint8Array, origin: unknown) => {
              if (origin !== REMOTE) pending.push(update);
            });
          }
          steps.forEach((s, i) => {
            applyStep(clients[s.client] as Y.Doc, s);
            // Deliver some pending update (not necessarily the oldest) to the server and to a client.
            const pickAt = order[i];
            if (pickAt !== undefined && pending.length > 0) {
              const [update] = pending.splice(pickAt % pending.length, 1) as [Uint8Array];
              Y.applyUpdate(doc.ydoc, update, REMOTE);
              applied.push(update);
              Y.applyUpdate(clients[pickAt % 3] as Y.Doc, update, REMOTE);
            }
          });
          for (const update of pending) {
            Y.applyUpdate(doc.ydoc, update, REMOTE);
            applied.push(update);
          }
          expect(faults).toEqual([]);
          // Rebuilt from the log (every update as received), the JSON is the same.
          const rebuilt = new Y.Doc();
          for (const update of applied) Y.applyUpdate(rebuilt, update);
          expect(documentJson(rebuilt)).toEqual(doc.toJSON());
          // A client holding everything shows the same JSON as the server.
          const all = new Y.Doc();
          for (const client of clients) Y.applyUpdate(all, Y.encodeStateAsUpdate(client));
          expect(documentJson(all)).toEqual(doc.toJSON());
        },
      ),
      { numRuns: 150 },
    );
  });
});
