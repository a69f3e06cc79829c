/**
 * A real HTTP webhook receiver for tests: it verifies every message with the `standardwebhooks`
 * library's own verifier, keeps what it accepted, and can be made to fail (answer an error status),
 * to hold requests without answering, or to go down and come back on the same port.
 */

import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import type { WebhookBody } from '../webhook-message.js';

/** A message the receiver accepted (its signature verified). */
export interface ReceivedMessage {
  /** The `webhook-id` header. */
  id: string;
  body: WebhookBody;
  /** True once the receiver answered it with 2xx. */
  acknowledged: boolean;
}

/** How the receiver answers the next requests. */
export type ReceiverMode = { answer: 'ok' } | { answer: 'status'; status: number } | { answer: 'hold' };

/** A receiver listening on 127.0.0.1. */
export class WebhookReceiver {
  /** Every verified message, in arrival order (also those it answered with an error or held). */
  readonly messages: ReceivedMessage[] = [];
  /** Requests whose signature did not verify (answered 400). */
  rejected = 0;
  mode: ReceiverMode = { answer: 'ok' };
  private server: Server | undefined;
  private readonly verifier: Webhook;
  private readonly held = new Set<() => void>();
  private readonly waiters = new Set<() => void>();

  private constructor(
    secret: string,
    private port: number,
  ) {
    this.verifier = new Webhook(secret);
  }

  /** Starts a receiver for messages signed with `secret` (port 0: a free one). */
  static async start(secret: string, port = 0): Promise<WebhookReceiver> {
    const receiver = new WebhookReceiver(secret, port);
    await receiver.up();
    return receiver;
  }

  /** `http://127.0.0.1:PORT/hook` */
  get url(): string {
    return `http://127.0.0.1:${this.port}/hook`;
  }

  /** Messages acknowledged with 2xx. */
  get acknowledged(): ReceivedMessage[] {
    return this.messages.filter((message) => message.acknowledged);
  }

  /** Listens (again, on the same port after `down`). */
  async up(): Promise<void> {
    const server = createServer((request, response) => {
      void this.handle(request).then(
        ({ status, onAnswer }) => {
          const answer = () => {
            // A sender that went away (killed while its request was held) never saw the answer.
            if (response.destroyed || request.socket.destroyed) return;
            onAnswer?.();
            response.writeHead(status).end();
          };
          if (this.mode.answer === 'hold' && status === 204) {
            this.held.add(answer);
            response.once('close', () => this.held.delete(answer));
          } else answer();
        },
        () => response.writeHead(500).end(),
      );
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  /** Stops listening and cuts open connections: the receiver is down. */
  async down(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server === undefined) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  }

  /** How many requests are held unanswered (their senders still connected). */
  get holding(): number {
    return this.held.size;
  }

  /** Answers every held request (2xx) and stops holding. */
  release(): void {
    this.mode = { answer: 'ok' };
    for (const answer of [...this.held]) answer();
    this.held.clear();
  }

  /** The seqs of `docId` covered by acknowledged messages. */
  seqsOf(docId: string): Set<number> {
    const seqs = new Set<number>();
    for (const { body } of this.acknowledged) {
      if (body.data.docId !== docId) continue;
      for (let seq = body.data.from; seq <= body.data.to; seq++) seqs.add(seq);
    }
    return seqs;
  }

  /** Resolves once `check` holds, re-checked on every message; rejects after `timeoutMs`. */
  async until(check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
    if (check()) return;
    await new Promise<void>((resolve, reject) => {
      const waiter = () => {
        if (!check()) return;
        clearTimeout(timer);
        this.waiters.delete(waiter);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`timed out waiting for ${what}; received ${this.messages.length} messages`));
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  /** Stops the receiver and drops its connections. */
  async close(): Promise<void> {
    this.release();
    await this.down();
  }

  private async handle(request: IncomingMessage): Promise<{ status: number; onAnswer?: () => void }> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const payload = Buffer.concat(chunks).toString('utf8');
    let body: WebhookBody;
    try {
      body = this.verifier.verify(payload, request.headers as Record<string, string>) as WebhookBody;
    } catch {
      this.rejected++;
      return { status: 400 };
    }
    const message: ReceivedMessage = { id: String(request.headers['webhook-id']), body, acknowledged: false };
    this.messages.push(message);
    this.notify();
    if (this.mode.answer === 'status') return { status: this.mode.status };
    return {
      status: 204,
      onAnswer: () => {
        message.acknowledged = true;
        this.notify();
      },
    };
  }

  private notify(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}
