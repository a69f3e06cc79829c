// A tour of @ystate/core: documents addressed by JSON Pointer, exact JSON Patch out of every
// change, replicas that converge, and an agent's JSON Patch merged at the version it saw.
import { collaborativeText, DocumentRegistry, isYStateError, StateDocument } from '@ystate/core';
import * as Y from 'yjs';

const show = (label, value) => console.log(`${label.padEnd(26)} ${JSON.stringify(value)}`);

// 1. A registry opens each document once, however many callers ask for it.
const registry = new DocumentRegistry();
const doc = await registry.open('projects/42');
console.log('same document for every caller:', (await registry.open('projects/42')) === doc);

// 2. Subscribe by path pattern (`*` = one segment, `**` = any depth); changes arrive as JSON Patch.
for (const pattern of ['/todos/*/done', '/notes/**']) {
  doc.subscribe(pattern, ({ ops, origin, local }) => show(`  ${pattern}${local ? '' : ` (${origin})`}`, ops));
}

// 3. Path writes: each call is one all-or-nothing transaction.
doc.set('/title', 'Launch plan');
doc.set('/todos', []);
doc.push('/todos', { text: 'write docs', done: false }, { text: 'ship', done: false });
doc.set('/todos/0/done', true);
doc.merge('', { owner: 'ana', meta: { priority: 'high' } });
doc.merge('/meta', { due: '2026-12-01' }); // deep merge keeps `priority`
doc.set('/notes', { body: collaborativeText('Draft') }); // a Y.Text: edits merge by character
doc.spliceText('/notes/body', 5, 0, ' v2');
show('document', doc.toJSON());

// 4. A replica in another process starts from our state; both edit while disconnected, then
//    exchange only what the other lacks (Yjs updates over any transport) and converge.
const replica = new StateDocument('projects/42');
Y.applyUpdate(replica.ydoc, Y.encodeStateAsUpdate(doc.ydoc));
doc.spliceText('/notes/body', 0, 0, 'Ana: ');
replica.spliceText('/notes/body', replica.get('/notes/body').length, 0, ' (seen by Bo)');
replica.set('/todos/1/done', true);
const missingIn = (to, from) => Y.encodeStateAsUpdate(from.ydoc, Y.encodeStateVector(to.ydoc));
const [toDoc, toReplica] = [missingIn(doc, replica), missingIn(replica, doc)];
Y.applyUpdate(doc.ydoc, toDoc, 'replica');
Y.applyUpdate(replica.ydoc, toReplica, 'doc');
show('notes here', doc.get('/notes/body'));
show('notes on the replica', replica.get('/notes/body'));
console.log('replicas converged:', JSON.stringify(doc.toJSON()) === JSON.stringify(replica.toJSON()));

// 5. An agent reads the state, thinks for a while, then sends a JSON Patch against what it saw:
//    `add /todos/1` means "after 'write docs'". Meanwhile a person adds a todo at the front.
const seenByAgent = Y.encodeStateAsUpdate(doc.ydoc);
const agentPatch = [{ op: 'add', path: '/todos/1', value: { text: 'review docs', done: false } }];
doc.insert('/todos/0', { text: 'book room', done: false });
const naive = new StateDocument('naive copy');
Y.applyUpdate(naive.ydoc, Y.encodeStateAsUpdate(doc.ydoc));
naive.applyPatch(agentPatch); // applied to the current state, index 1 now means something else
doc.applyPatch(agentPatch, { base: seenByAgent, origin: 'agent' }); // applied at the agent's version
show(
  'todos without base',
  naive.get('/todos').map((todo) => todo.text),
);
show(
  'todos with base',
  doc.get('/todos').map((todo) => todo.text),
);

// 6. A failing `test` op rejects the whole patch; nothing of it is applied.
try {
  doc.applyPatch([
    { op: 'test', path: '/owner', value: 'bo' },
    { op: 'replace', path: '/title', value: 'Hijacked' },
  ]);
} catch (error) {
  if (!isYStateError(error)) throw error;
  console.log(`patch rejected: ${error.code}; title is still ${JSON.stringify(doc.get('/title'))}`);
}

for (const copy of [replica, naive]) copy.destroy();
registry.closeAll();
