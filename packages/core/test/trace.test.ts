import { describe, expect, it } from 'vitest';
import { collaborativeText, StateDocument } from '../src/index.js';
import { loadSequentialTrace } from '../src/testing/traces.js';

describe('real editing trace', () => {
  it('automerge-paper, keystroke by keystroke through the path API into a Y.Text, ends equal to endContent', () => {
    const trace = loadSequentialTrace('automerge-paper');
    const doc = new StateDocument('paper');
    doc.set('/text', collaborativeText(trace.startContent));
    let edits = 0;
    for (const txn of trace.txns) {
      for (const [pos, deleteCount, text] of txn.patches) {
        doc.spliceText('/text', pos, deleteCount, text);
        edits++;
      }
    }
    expect(edits).toBe(259_778);
    expect(doc.get('/text')).toBe(trace.endContent);
    doc.destroy();
  });
});
