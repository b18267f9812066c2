import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { EnvelopePurpose } from '../envelope/envelope.interface.js';

/** Key material handed to the rewrap thread: transferred, so this thread keeps no copy. */
export interface RewrapKeys {
  /** The key new envelopes are sealed under (among `keys`). */
  readonly active: string;
  readonly keys: readonly { readonly id: string; readonly material: ArrayBuffer }[];
}

export type RewrapThreadRequest =
  | ({ readonly kind: 'keys' } & RewrapKeys)
  | {
      readonly kind: 'batch';
      readonly batch: number;
      readonly envelopes: readonly string[];
      readonly purpose: EnvelopePurpose | undefined;
    }
  | { readonly kind: 'end' };

/** Each envelope rewrapped under the active key, or null: left to the main thread. */
export interface RewrapThreadReply {
  readonly batch: number;
  readonly envelopes: readonly (string | null)[];
}

/** Where the rewrap thread's entry is, compiled beside this file. */
export const DEFAULT_REWRAP_WORKER_ENTRY = new URL('./rewrap.worker.js', import.meta.url);

/**
 * The main thread's end of one run's rewrap thread. A thread that fails answers every batch it
 * still owes with nulls, so the run goes on rewrapping on the main thread and loses nothing.
 */
export class RewrapThread {
  /** Batches sent and not answered: each resolves with the reply, or undefined if none comes. */
  private readonly pending = new Map<
    number,
    (envelopes: readonly (string | null)[] | undefined) => void
  >();
  private readonly exited: Promise<void>;
  private batches = 0;
  private failed = false;

  private constructor(
    private readonly worker: Worker,
    /** The key the thread seals under. */
    readonly activeKeyId: string,
  ) {
    this.exited = new Promise((resolve) => worker.once('exit', () => resolve()));
    worker.on('message', (reply: RewrapThreadReply) => {
      this.pending.get(reply.batch)?.(reply.envelopes);
      this.pending.delete(reply.batch);
    });
    const fail = () => {
      this.failed = true;
      for (const resolve of this.pending.values()) resolve(undefined);
      this.pending.clear();
    };
    worker.on('error', fail);
    worker.once('exit', fail);
  }

  /**
   * A thread started from `entry` holding `keys` (transferred: detached here), or undefined
   * where there is no compiled entry (the sources run as TypeScript): the caller rewraps here.
   */
  static start(entry: URL | string, keys: () => RewrapKeys): RewrapThread | undefined {
    const path = typeof entry === 'string' ? entry : fileURLToPath(entry);
    if (!existsSync(path)) return undefined;
    const handed = keys();
    const thread = new RewrapThread(new Worker(path), handed.active);
    const request: RewrapThreadRequest = { kind: 'keys', ...handed };
    thread.worker.postMessage(
      request,
      handed.keys.map((key) => key.material),
    );
    return thread;
  }

  /** `envelopes` rewrapped under the active key, in order; null for each left to the caller. */
  rewrap(
    envelopes: readonly string[],
    purpose: EnvelopePurpose | undefined,
  ): Promise<readonly (string | null)[]> {
    if (this.failed) return Promise.resolve(envelopes.map(() => null));
    const batch = ++this.batches;
    return new Promise((resolve) => {
      this.pending.set(batch, (replied) =>
        resolve(replied?.length === envelopes.length ? replied : envelopes.map(() => null)),
      );
      const request: RewrapThreadRequest = { kind: 'batch', batch, envelopes, purpose };
      this.worker.postMessage(request, []);
    });
  }

  /** As rewrap, for the envelopes `sent` accepts only; null in place of each of the others. */
  async rewrapWhere(
    envelopes: readonly string[],
    purpose: EnvelopePurpose | undefined,
    sent: (envelope: string) => boolean,
  ): Promise<readonly (string | null)[]> {
    const at: number[] = [];
    for (let i = 0; i < envelopes.length; i++) if (sent(envelopes[i])) at.push(i);
    if (at.length === envelopes.length) return this.rewrap(envelopes, purpose);
    const replies =
      at.length > 0
        ? await this.rewrap(
            at.map((i) => envelopes[i]),
            purpose,
          )
        : [];
    const rewrapped: (string | null)[] = envelopes.map(() => null);
    at.forEach((i, reply) => (rewrapped[i] = replies[reply]));
    return rewrapped;
  }

  /** Lets the thread zero its keys and exit; resolves once it has. */
  async close(): Promise<void> {
    if (!this.failed) this.worker.postMessage({ kind: 'end' } satisfies RewrapThreadRequest, []);
    await this.exited;
  }
}
