/**
 * Real clients, for the scenarios that measure or check what a user's client sees: y-websocket's
 * `WebsocketProvider` (ystate and the reference server) and `@hocuspocus/provider`'s
 * `HocuspocusProvider` (Hocuspocus), each in Node with `ws` as its WebSocket.
 */

import { HocuspocusProvider } from '@hocuspocus/provider';
import WebSocket from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';

/**
 * A real client of `docId` on the server at `url` speaking `dialect` ('y-websocket' or
 * 'hocuspocus', as servers.mjs names them): `{ doc, synced, destroy }`, where `synced` resolves
 * once the provider reports its first sync, and `destroy` closes the provider and its document.
 */
export function connectProvider(dialect, url, docId) {
  const doc = new Y.Doc();
  let provider;
  let synced;
  if (dialect === 'hocuspocus') {
    synced = new Promise((resolve) => {
      provider = new HocuspocusProvider({
        url,
        name: docId,
        document: doc,
        WebSocketPolyfill: WebSocket,
        onSynced: () => resolve(),
      });
    });
  } else {
    // disableBc: clients in one process would otherwise reach each other through BroadcastChannel.
    provider = new WebsocketProvider(url, docId, doc, { WebSocketPolyfill: WebSocket, disableBc: true });
    synced = new Promise((resolve) => {
      const onSync = (isSynced) => {
        if (!isSynced) return;
        provider.off('sync', onSync);
        resolve();
      };
      provider.on('sync', onSync);
    });
  }
  return {
    doc,
    synced,
    destroy: () => {
      provider.destroy();
      // Destroying the document also stops its awareness's timer.
      doc.destroy();
    },
  };
}
