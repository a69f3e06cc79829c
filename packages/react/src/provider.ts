/** `YStateProvider`: where the hooks below it connect, and the documents they share. */

import {
  createContext,
  createElement,
  type ReactElement,
  type ReactNode,
  useContext,
  useEffect,
  useState,
} from 'react';
import { type RoomOptions, Rooms } from './room.js';

const RoomsContext = createContext<Rooms | null>(null);

/** The props of `YStateProvider`: how to reach the server, and the tree that uses it. */
export interface YStateProviderProps extends RoomOptions {
  children?: ReactNode;
}

/**
 * Connects the hooks below it to a ystate server (the options are read once: give the provider a
 * new `key` to connect elsewhere). Documents are opened when a hook first needs them, shared by
 * every hook that names them, and closed when none does; nothing connects during server rendering.
 */
export function YStateProvider({ children, ...options }: YStateProviderProps): ReactElement {
  const [rooms] = useState(() => new Rooms(options));
  useEffect(() => () => rooms.destroy(), [rooms]);
  return createElement(RoomsContext.Provider, { value: rooms }, children);
}

/** The rooms of the nearest `YStateProvider`. */
export function useRooms(): Rooms {
  const rooms = useContext(RoomsContext);
  if (rooms === null) throw new Error('ystate hooks must be used inside a <YStateProvider>');
  return rooms;
}
