import type { KmsSecurityEvent, KmsSecurityEvents } from '@nest-kms/kms/extension';
import type { AuditEntry, SecretsAudit } from './secrets-audit.js';

/**
 * Writes the KMS's security events into the audit trail beside the secrets operations, so one
 * tamper-evident trail, shared by every replica, holds what threat detection reads: failed
 * decryptions (with the key and who asked), destroyed keys and refused attempts, destroyed
 * tenants, master-key
 * rotations and removals, and a start refused for the wrong master key (written at once: that
 * process is about to exit).
 */
export class KmsSecurityTrail {
  private readonly stop: () => void;

  constructor(events: KmsSecurityEvents, audit: SecretsAudit) {
    this.stop = events.listen((event) => {
      const entry = auditEntryOf(event);
      return audit.recordSecurityEvent(entry, event.kind === 'master-key-mismatch');
    });
  }

  close(): void {
    this.stop();
  }
}

function auditEntryOf(event: KmsSecurityEvent): AuditEntry {
  switch (event.kind) {
    case 'decryption-failed':
      return {
        action: 'decrypt',
        actor: event.actor ?? undefined,
        keyId: event.keyId,
        outcome: 'failure',
        errorCode: event.code,
      };
    case 'data-key-destroyed':
      return { action: 'destroy-key', keyId: event.keyId, outcome: 'success' };
    case 'data-key-destroy-refused':
      return {
        action: 'destroy-key',
        keyId: event.keyId,
        outcome: 'failure',
        errorCode: event.code,
      };
    case 'tenant-destroyed':
      // The tenant id stands where a key id stands: what was destroyed.
      return { action: 'destroy-tenant', keyId: event.tenant, outcome: 'success' };
    case 'master-key-rotated':
      return { action: 'rotate-master', keyId: event.fingerprint, outcome: 'success' };
    case 'master-key-removed':
      return { action: 'remove-master', keyId: event.fingerprint, outcome: 'success' };
    case 'master-key-mismatch':
      return {
        action: 'open-keyring',
        keyId: event.fingerprint,
        outcome: 'failure',
        errorCode: 'KMS_MASTER_KEY_MISMATCH',
      };
  }
}
