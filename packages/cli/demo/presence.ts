/**
 * Who is here: each page announces a name and a colour in its y-websocket awareness state (never
 * logged, relayed to every node through the bus) and lists everyone's. The name comes from
 * `?name=`, else the one this tab used before, else a random one.
 */

import type { WebsocketProvider } from 'y-websocket';
import { create } from './dom.js';

/** A person as the awareness state's `user` field carries it (the y-codemirror/y-prosemirror shape). */
export interface PresenceUser {
  name: string;
  color: string;
}

const NAMES = ['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara', 'Donald', 'Frances', 'Ken', 'Radia', 'Tim'];
// Dark enough for white text, light enough to tell apart on a dark page.
const COLORS = ['#c2185b', '#1565c0', '#2e7d32', '#6a1b9a', '#b45309', '#00796b', '#c62828', '#4338ca'];
const STORAGE_KEY = 'ystate-demo-user';

/** y-websocket's awareness (y-protocols), as the provider exposes it. */
export type Awareness = WebsocketProvider['awareness'];

/** This page's person: `?name=`, or the one kept for this tab, or a new random one. */
export function localUser(params: URLSearchParams): PresenceUser {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(Math.random() * list.length)] as T;
  let kept: Partial<PresenceUser> = {};
  try {
    kept = JSON.parse(sessionStorage.getItem(STORAGE_KEY) ?? '{}') as Partial<PresenceUser>;
  } catch {
    // Storage may be off (private mode) or hold something else: start afresh.
  }
  const user = {
    name: params.get('name')?.trim() || (typeof kept.name === 'string' ? kept.name : pick(NAMES)),
    color: typeof kept.color === 'string' ? kept.color : pick(COLORS),
  };
  try {
    sessionStorage.setItem(STORAGE_KEY, JSON.stringify(user));
  } catch {
    // Not kept: the next load picks another name, nothing else changes.
  }
  return user;
}

/** The user of an awareness state, when it has a well-formed one. */
export function userOf(state: Record<string, unknown> | undefined): PresenceUser | undefined {
  const user = state?.user as Partial<PresenceUser> | undefined;
  return typeof user?.name === 'string' && typeof user.color === 'string'
    ? { name: user.name.slice(0, 40), color: user.color }
    : undefined;
}

/** Announces `user` and keeps `list` showing everyone here, this page first. */
export function showPresence(awareness: Awareness, user: PresenceUser, list: HTMLUListElement): void {
  awareness.setLocalStateField('user', user);
  const render = () => {
    const items: HTMLLIElement[] = [];
    for (const [clientId, state] of awareness.getStates()) {
      const who = userOf(state);
      if (who === undefined) continue;
      const mine = clientId === awareness.clientID;
      const item = create('li', mine ? `${who.name} (you)` : who.name, { 'data-name': who.name });
      item.style.setProperty('--who', who.color);
      if (mine) items.unshift(item);
      else items.push(item);
    }
    list.replaceChildren(...items);
    list.dataset.count = String(items.length);
  };
  awareness.on('change', render);
  render();
}
