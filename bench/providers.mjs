/**
 * Real clients, for the scenarios that measure or check what a user's client sees: y-websocket's
 * `WebsocketProvider` (ystate and the reference server) and `@hocuspocus/provider`'s
 * `HocuspocusProvider` of the server's major version (Hocuspocus 4 or 3), each in Node (the
 * machine's) with `ws` as its WebSocket.
 */

import { HocuspocusProvider as HocuspocusProvider3 } from '@hocuspocus/provider';
import { HocuspocusProvider as HocuspocusProvider4 } from '@hocuspocus/provider-4';
import WebSocket from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { serverKinds } from './servers.mjs';

const hocuspocusProviders = { 3: HocuspocusProvider3, 4: HocuspocusProvider4 };

/**
 * A real client of `docId` on the server of `kind` (as servers.mjs names them) at `url`:
 * `{ doc, synced, destroy }`, where `synced` resolves once the provider reports its first sync,
 * and `destroy` closes the provider and its document.
 */
export function connectProvider(kind, url, docId) {
  const doc = new Y.Doc();
  let provider;
  let synced;
  const { hocuspocus } = serverKinds[kind];
  if (hocuspocus) {
    const HocuspocusProvider = hocuspocusProviders[hocuspocus];
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
