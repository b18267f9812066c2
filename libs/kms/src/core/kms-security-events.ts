import { Injectable } from '@nestjs/common';

/**
 * What the KMS saw that a security team may want to hear about, for the audit trail and threat
 * detection: never a key, a value or an envelope, only ids, codes and who asked.
 */
export type KmsSecurityEvent =
  | {
      kind: 'decryption-failed';
      /** The error's code (KMS_DECRYPTION_FAILED, KMS_AAD_MISMATCH, …). */
      code: string;
      /** The envelope's data key, when its header parsed. */
      keyId: string | null;
      /** The caller's `actor` option, when given. */
      actor: string | null;
    }
  | { kind: 'data-key-destroyed'; keyId: string }
  | { kind: 'data-key-destroy-refused'; keyId: string; code: string }
  | {
      kind: 'tenant-destroyed';
      tenant: string;
      /** The tenant's data keys deleted. */
      keysDestroyed: number;
      /** Envelopes in registered columns made unreadable. */
      envelopesUnreadable: number;
    }
  | { kind: 'master-key-rotated'; fingerprint: string }
  | { kind: 'master-key-removed'; fingerprint: string }
  | {
      kind: 'master-key-mismatch';
      /** The fingerprint of the master key this process was given. */
      fingerprint: string;
    };

/** Returns a promise when it writes the event somewhere it can be awaited (start-up refusals). */
export type KmsSecurityListener = (event: KmsSecurityEvent) => void | Promise<void>;

/** How long a refused start waits for listeners to record why before it fails. */
const REFUSAL_RECORD_WAIT_MS = 2_000;

/**
 * The KMS's security events, handed to whoever listens (@nest-kms/secrets writes them into the
 * audit trail). Publishing runs on the hot path only when a decryption fails; a listener that
 * throws is ignored, so recording can never change what the caller gets.
 */
@Injectable()
export class KmsSecurityEvents {
  private listeners: readonly KmsSecurityListener[] = [];

  /** Adds a listener; returns the function that removes it. */
  listen(listener: KmsSecurityListener): () => void {
    this.listeners = [...this.listeners, listener];
    return () => {
      this.listeners = this.listeners.filter((candidate) => candidate !== listener);
    };
  }

  publish(event: KmsSecurityEvent): void {
    void this.deliver(event);
  }

  /**
   * For a refusal the process will not survive (a start with the wrong master key): waits, a
   * bounded time, for the listeners to record it.
   */
  async publishBeforeFailing(event: KmsSecurityEvent): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const waited = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, REFUSAL_RECORD_WAIT_MS).unref();
    });
    await Promise.race([this.deliver(event), waited]);
    clearTimeout(timer);
  }

  private async deliver(event: KmsSecurityEvent): Promise<void> {
    if (this.listeners.length === 0) return;
    const pending: Promise<void>[] = [];
    for (const listener of this.listeners) {
      try {
        const result = listener(event);
        if (result) pending.push(result.catch(() => undefined));
      } catch {
        // A listener's failure is its own: the KMS's answer does not change.
      }
    }
    await Promise.all(pending);
  }
}
