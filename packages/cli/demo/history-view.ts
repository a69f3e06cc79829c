/**
 * The history view, built from the server's log through the HTTP API (docs/versions.md): a timeline
 * of the latest entries (time, origin, JSON Patch or lifecycle event), a slider over every seq that
 * shows the document as it was there (`GET …/state?at=`) with that entry, and the actions on it —
 * restore this version (`POST …/revert`), undo this run (`POST …/undo` for an AG-UI run's entry),
 * back to live — plus named versions (`POST`/`GET …/versions`).
 */

import type { HistoryEntry, Json, YStateClient } from '@ystate/client';
import { VersionLifecycle } from '@ystate/core';
import { clockTime, create, describeError, oneLine, patchText } from './dom.js';

/** How many of the newest entries the timeline lists (older ones are on the slider). */
const TIMELINE_LENGTH = 30;

/** A named version as `GET …/versions` lists it. */
interface NamedVersion {
  name: string;
  seq: number;
  origin: string;
  time: number;
}

/** The view's elements. */
export interface HistoryElements {
  slider: HTMLInputElement;
  label: HTMLOutputElement;
  hint: HTMLElement;
  state: HTMLPreElement;
  restore: HTMLButtonElement;
  live: HTMLButtonElement;
  nameForm: HTMLFormElement;
  nameInput: HTMLInputElement;
  entry: HTMLElement;
  entrySeq: HTMLElement;
  entryTime: HTMLTimeElement;
  entryOrigin: HTMLElement;
  entryPatch: HTMLPreElement;
  undoRun: HTMLButtonElement;
  timeline: HTMLOListElement;
  versions: HTMLUListElement;
}

/** The history of one document; `headAt` tells it the log moved (from the event stream). */
export class HistoryView {
  /** The newest seq this page knows the log holds. */
  private head = 0;
  /** True while the slider sits at the head and follows it. */
  private following = true;
  private versions: NamedVersion[] = [];
  private versionsRead = false;
  private shownRequest: AbortController | undefined;
  private timelineTimer: ReturnType<typeof setTimeout> | undefined;
  /** A timeline read is under way; `timelineAgain`: the log moved meanwhile, read once more after it. */
  private timelineBusy = false;
  private timelineAgain = false;

  constructor(
    private readonly client: YStateClient,
    private readonly docId: string,
    private readonly view: HistoryElements,
  ) {
    view.slider.addEventListener('input', () => this.show(Number(view.slider.value)));
    view.live.addEventListener('click', () => this.goLive());
    view.restore.addEventListener('click', () => {
      const seq = Number(view.slider.value);
      this.act(view.restore, async () => {
        const { seq: written } = (await this.post('revert', { to: seq })) as { seq: number };
        return `Restored the document as it was at seq ${seq} (entry ${written}).`;
      });
    });
    view.undoRun.addEventListener('click', () => {
      const run = view.undoRun.dataset.run;
      if (run === undefined) return;
      this.act(view.undoRun, async () => {
        const { entries } = (await this.post('undo', { run })) as { entries: number };
        return `Undid run ${run} (${entries} change${entries === 1 ? '' : 's'}); everyone else's edits stay.`;
      });
    });
    view.nameForm.addEventListener('submit', (event) => {
      event.preventDefault();
      const name = view.nameInput.value.trim();
      if (name === '') return;
      const seq = this.following ? undefined : Number(view.slider.value);
      this.post('versions', seq === undefined ? { name } : { name, seq }).then(
        () => {
          view.nameInput.value = '';
          this.refreshTimeline();
        },
        (error: unknown) => this.fail(error),
      );
    });
    // The timeline is read once the event stream says where the head is (its first event), so
    // that a long history is never read whole.
    this.renderLabel();
  }

  /** The log holds `seq` now: move the slider's end (and the slider, when live), refresh the timeline. */
  headAt(seq: number): void {
    if (seq <= this.head) return;
    this.head = seq;
    this.view.slider.max = String(seq);
    if (this.following) this.view.slider.value = String(seq);
    this.renderLabel();
    // At most one read per quarter second, however fast people type.
    this.timelineTimer ??= setTimeout(() => {
      this.timelineTimer = undefined;
      this.refreshTimeline();
    }, 250);
  }

  /** Moves the slider to `seq` (the head means live) and shows what is there. */
  goTo(seq: number): void {
    this.view.slider.value = String(Math.min(seq, this.head));
    this.show(Number(this.view.slider.value));
  }

  /** Back to following the head. */
  goLive(): void {
    this.goTo(this.head);
  }

  private show(at: number): void {
    const view = this.view;
    this.following = at >= this.head;
    this.renderLabel();
    this.markSelected();
    this.shownRequest?.abort();
    view.restore.hidden = this.following;
    view.live.hidden = this.following;
    if (this.following) {
      view.state.hidden = true;
      view.entry.hidden = true;
      return;
    }
    const request = new AbortController();
    this.shownRequest = request;
    Promise.all([this.showStateAt(at, request.signal), this.showEntry(at, request.signal)]).catch(
      (error: unknown) => {
        if (!request.signal.aborted) this.fail(error);
      },
    );
  }

  private renderLabel(): void {
    const at = Number(this.view.slider.value);
    this.view.label.textContent = this.following ? `live · seq ${this.head}` : `seq ${at} of ${this.head}`;
    this.view.label.dataset.seq = String(at);
  }

  private async showStateAt(seq: number, signal: AbortSignal): Promise<void> {
    const { value } = await this.client.get(this.docId, { at: seq, signal });
    if (signal.aborted) return;
    this.view.state.textContent = JSON.stringify(value, null, 2);
    this.view.state.dataset.seq = String(seq);
    this.view.state.hidden = false;
  }

  /** Shows the entry written at `seq`: when, by whom, its JSON Patch (or lifecycle event). */
  private async showEntry(seq: number, signal: AbortSignal): Promise<void> {
    const view = this.view;
    const step =
      seq === 0 ? undefined : (await this.client.history(this.docId, { from: seq, to: seq, signal }))[0];
    if (signal.aborted) return;
    if (step === undefined) {
      view.entry.hidden = true;
      return;
    }
    view.entrySeq.textContent = String(step.seq);
    view.entryTime.dateTime = new Date(step.time).toISOString();
    view.entryTime.textContent = new Date(step.time).toLocaleString();
    view.entryOrigin.textContent = step.origin;
    view.entryPatch.textContent =
      step.event === undefined
        ? patchText(step.patch)
        : JSON.stringify({ event: step.event, patch: step.patch }, null, 1);
    const run = runOf(step);
    view.undoRun.hidden = run === undefined;
    if (run === undefined) delete view.undoRun.dataset.run;
    else view.undoRun.dataset.run = run;
    view.entry.dataset.seq = String(step.seq);
    view.entry.hidden = false;
  }

  /** Lists the newest entries; reads the named versions again when one of them names one. */
  private refreshTimeline(): void {
    if (this.timelineBusy) {
      this.timelineAgain = true;
      return;
    }
    this.timelineBusy = true;
    const from = Math.max(1, this.head - TIMELINE_LENGTH + 1);
    this.client
      .history(this.docId, { from })
      .then(async (entries) => {
        const naming = entries.some((step) => eventName(step.event) === VersionLifecycle.named);
        if (naming || !this.versionsRead) await this.refreshVersions();
        this.renderTimeline(entries.slice(-TIMELINE_LENGTH));
        const last = entries.at(-1);
        if (last !== undefined) this.headAt(last.seq);
      })
      .catch((error: unknown) => this.fail(error))
      .finally(() => {
        this.timelineBusy = false;
        if (this.timelineAgain) {
          this.timelineAgain = false;
          this.refreshTimeline();
        }
      });
  }

  private async refreshVersions(): Promise<void> {
    const response = await this.client.request('GET', this.client.docUrl(this.docId, 'versions'));
    this.versions = (await response.json()) as NamedVersion[];
    this.versionsRead = true;
    this.renderVersions();
  }

  private renderTimeline(entries: HistoryEntry[]): void {
    const named = new Map(this.versions.map((version) => [version.seq, version.name]));
    const items = entries.reverse().map((step) => {
      const item = create('li', '', { 'data-seq': String(step.seq), 'data-kind': step.kind });
      const select = create('button', String(step.seq), {
        type: 'button',
        'aria-label': `show entry ${step.seq}`,
      });
      select.addEventListener('click', () => this.goTo(step.seq));
      const what = step.event === undefined ? oneLine(step.patch) : eventLine(step.event);
      item.append(
        select,
        create('time', clockTime(step.time), { datetime: new Date(step.time).toISOString() }),
        create('span', step.origin, { class: 'origin' }),
        create('code', what),
      );
      const name = named.get(step.seq);
      if (name !== undefined) item.append(create('span', name, { class: 'version-tag' }));
      return item;
    });
    if (items.length === 0) items.push(create('li', 'no changes yet', { class: 'muted' }));
    this.view.timeline.replaceChildren(...items);
    this.markSelected();
  }

  private markSelected(): void {
    const at = this.following ? undefined : this.view.slider.value;
    for (const item of Array.from(this.view.timeline.children)) {
      if (item instanceof HTMLElement && item.dataset.seq === at) item.setAttribute('aria-current', 'true');
      else item.removeAttribute('aria-current');
    }
  }

  private renderVersions(): void {
    const items = this.versions.map((version) => {
      const item = create('li');
      const button = create('button', version.name, { type: 'button', 'data-seq': String(version.seq) });
      button.addEventListener('click', () => this.goTo(version.seq));
      const about = ` seq ${version.seq} · named by ${version.origin} · ${new Date(version.time).toLocaleString()}`;
      item.append(button, create('span', about, { class: 'muted' }));
      return item;
    });
    if (items.length === 0) items.push(create('li', 'none yet', { class: 'muted' }));
    this.view.versions.replaceChildren(...items);
  }

  /** POSTs JSON to one of the document's routes; rejects with the server's code and message. */
  private async post(route: string, body: Json): Promise<unknown> {
    const response = await this.client.request('POST', this.client.docUrl(this.docId, route), {
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return response.json();
  }

  /** Runs an action of the view, then goes back to live and says what happened. */
  private act(button: HTMLButtonElement, action: () => Promise<string>): void {
    button.disabled = true;
    action().then(
      (done) => {
        button.disabled = false;
        this.goLive();
        this.view.hint.textContent = done;
      },
      (error: unknown) => {
        button.disabled = false;
        this.fail(error);
      },
    );
  }

  private fail(error: unknown): void {
    this.view.hint.textContent = describeError(error);
  }
}

/** The AG-UI run an entry belongs to: named by its lifecycle event, or by its origin `agui:<runId>`. */
function runOf(step: HistoryEntry): string | undefined {
  const event = step.event;
  const data = typeof event === 'object' && event !== null && !Array.isArray(event) ? event.data : undefined;
  if (typeof data === 'object' && data !== null && !Array.isArray(data) && typeof data.runId === 'string') {
    return data.runId;
  }
  return step.origin.startsWith('agui:') ? step.origin.slice('agui:'.length) : undefined;
}

/** A lifecycle event on one line: its name and data. */
function eventLine(event: Json): string {
  if (typeof event !== 'object' || event === null || Array.isArray(event)) return oneLine(event);
  return `${eventName(event) ?? ''} ${oneLine(event.data ?? {}, 120)}`;
}

/** A lifecycle event's name (`ystate.version.named`, an AG-UI run's event type, …). */
function eventName(event: Json | undefined): string | undefined {
  if (typeof event !== 'object' || event === null || Array.isArray(event)) return undefined;
  const name = event.name ?? event.type;
  return typeof name === 'string' ? name : undefined;
}
