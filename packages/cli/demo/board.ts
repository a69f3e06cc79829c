/**
 * The task board at `/board`: tasks `{ id, title, status }` in one array, shown in three columns.
 * Every action is a JSON Patch applied to the page's own replica (`StateDocument.applyPatch`: CRDT
 * operations in one transaction, synced by y-websocket), guarded by a `test` of the task's id so a
 * click on a task that someone else just moved or deleted changes nothing instead of the wrong task.
 */

import type { Json, PatchOperation, StateDocument } from '@ystate/core';
import { create, patchText, perFrame } from './dom.js';

const STATUSES = [
  { id: 'todo', label: 'To do' },
  { id: 'doing', label: 'Doing' },
  { id: 'done', label: 'Done' },
] as const;

interface Task {
  id: string;
  title: string;
  status: string;
}

/** The board a new document starts with (written once, by whichever page syncs an empty document first). */
export const STARTER_BOARD = {
  tasks: [
    { id: 'welcome', title: 'Open this page in a second window', status: 'doing' },
    { id: 'console', title: 'Add a task with the patch console', status: 'todo' },
    { id: 'travel', title: 'Drag the history slider back', status: 'todo' },
  ],
};

/** The board's elements. */
export interface BoardView {
  board: HTMLElement;
  form: HTMLFormElement;
  title: HTMLInputElement;
  add: HTMLButtonElement;
  lastPatch: HTMLPreElement;
}

/** Renders `/board/tasks` of `doc` into `view` and turns clicks into patches. */
export function showBoard(doc: StateDocument, view: BoardView): void {
  const apply = (ops: PatchOperation[]) => {
    view.lastPatch.textContent = patchText(ops);
    try {
      doc.applyPatch(ops);
      delete view.lastPatch.dataset.error;
    } catch (error) {
      view.lastPatch.dataset.error = 'true';
      view.lastPatch.textContent += `\nrefused: ${error instanceof Error ? error.message : String(error)}`;
    }
  };

  const render = () => {
    const tasks = tasksOf(doc.get('/board/tasks'));
    const columns = STATUSES.map((status, column) => {
      const list = create('ul', '', { 'aria-labelledby': `column-${status.id}` });
      tasks.forEach((task, index) => {
        if (task.status !== status.id) return;
        const item = create('li', '', { 'data-id': task.id, 'data-status': task.status });
        item.append(create('span', task.title, { class: 'task-title' }));
        const guard: PatchOperation = { op: 'test', path: `/board/tasks/${index}/id`, value: task.id };
        const move = (to: (typeof STATUSES)[number]) =>
          apply([guard, { op: 'replace', path: `/board/tasks/${index}/status`, value: to.id }]);
        const actions = create('span', '', { class: 'task-actions' });
        const before = STATUSES[column - 1];
        const after = STATUSES[column + 1];
        if (before !== undefined)
          actions.append(button('←', `Move "${task.title}" to ${before.label}`, () => move(before)));
        if (after !== undefined)
          actions.append(button('→', `Move "${task.title}" to ${after.label}`, () => move(after)));
        actions.append(
          button('×', `Delete "${task.title}"`, () =>
            apply([guard, { op: 'remove', path: `/board/tasks/${index}` }]),
          ),
        );
        item.append(actions);
        list.append(item);
      });
      const section = create('section', '', { class: 'column', 'data-status': status.id });
      section.append(create('h3', status.label, { id: `column-${status.id}` }), list);
      return section;
    });
    view.board.replaceChildren(...columns);
  };

  view.form.addEventListener('submit', (event) => {
    event.preventDefault();
    const title = view.title.value.trim();
    if (title === '') return;
    const task: Task = { id: Math.random().toString(36).slice(2, 10), title, status: 'todo' };
    // Without the array (someone deleted /board) the add refuses; recreate the board instead.
    const ops: PatchOperation[] =
      doc.get('/board/tasks') === undefined
        ? [{ op: 'add', path: '/board', value: { tasks: [{ ...task }] } }]
        : [{ op: 'add', path: '/board/tasks/-', value: { ...task } }];
    apply(ops);
    view.title.value = '';
  });

  const schedule = perFrame(render);
  doc.onChange((change) => {
    if (change.ops.some((op) => op.path === '' || op.path === '/board' || op.path.startsWith('/board/')))
      schedule();
  });
  view.title.disabled = false;
  view.add.disabled = false;
  render();
}

function button(label: string, name: string, onClick: () => void): HTMLButtonElement {
  const node = create('button', label, { type: 'button', 'aria-label': name, title: name });
  node.addEventListener('click', onClick);
  return node;
}

/** The tasks of the board, skipping whatever is not a task (anyone may write anything there). */
function tasksOf(value: Json | undefined): Task[] {
  if (!Array.isArray(value)) return [];
  return value.flatMap((item) => {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) return [];
    const { id, title, status } = item;
    return typeof id === 'string' && typeof title === 'string' && typeof status === 'string'
      ? [{ id, title, status }]
      : [];
  });
}
