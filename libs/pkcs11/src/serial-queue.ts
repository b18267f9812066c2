/** When a caller stops waiting for its turn or its answer. */
export interface QueueLimits<T> {
  readonly signal?: AbortSignal;
  readonly timeoutMs: number;
  /** The error a caller gets when it stops waiting: `why` is `aborted` or the time waited. */
  readonly gaveUp: (why: string) => Error;
  /** Receives a result nobody waits for any more (to zero key material in it). */
  readonly discard?: (value: T) => void;
}

/**
 * Runs tasks one after another. A PKCS#11 session does one operation at a time: two wraps
 * interleaving C_EncryptInit and C_Encrypt on it would mix their parameters or fail with
 * CKR_OPERATION_ACTIVE. A caller that gives up (abort, timeout) is answered at once; a task
 * not yet started is then skipped, and one under way is still awaited before the next starts,
 * since a native call cannot be cancelled.
 */
export class SerialQueue {
  private tail: Promise<void> = Promise.resolve();

  /** Runs `task` after every task queued before it; no limits (for shutdown). */
  after<T>(task: () => Promise<T> | T): Promise<T> {
    const turn = this.tail.then(task);
    this.tail = turn.then(
      () => undefined,
      () => undefined,
    );
    return turn;
  }

  /** Runs `task` in turn, unless the caller has given up by then. */
  run<T>(task: () => Promise<T>, limits: QueueLimits<T>): Promise<T> {
    const { signal, timeoutMs, gaveUp, discard } = limits;
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const settle = (answer: () => void): boolean => {
        if (settled) return false;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        answer();
        return true;
      };
      const onAbort = () => settle(() => reject(gaveUp('aborted')));
      const timer = setTimeout(
        () => settle(() => reject(gaveUp(`no answer within ${timeoutMs} ms`))),
        timeoutMs,
      );
      if (signal?.aborted) onAbort();
      else signal?.addEventListener('abort', onAbort, { once: true });
      void this.after(async () => {
        // Given up while waiting for its turn: the token never sees the call.
        if (settled) return;
        try {
          const value = await task();
          if (!settle(() => resolve(value))) discard?.(value);
        } catch (error) {
          settle(() => reject(error));
        }
      });
    });
  }
}
