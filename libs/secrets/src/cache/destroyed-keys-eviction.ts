import type { KmsNotifications, KmsSecurityEvents } from '@nest-kms/kms/extension';
import type { SecretReader } from '../secret-reader.js';
import { tenantScope } from '../secret-scope.js';

/** The notice another replica sends for each data key it destroys (a tenant's keys included). */
const DATA_KEY_DESTROYED_TOPIC = 'data_key_destroyed';

/**
 * A destroyed data key takes the cached values sealed under it: a destroyed tenant's secrets
 * (destroyTenant, here: every cached value of the tenant; on another replica: its keys'
 * notices) stop being served at once, not at the cache entries' expiry.
 */
export class DestroyedKeysEviction {
  constructor(
    private readonly events: KmsSecurityEvents,
    private readonly notifications: KmsNotifications,
    private readonly reader: SecretReader,
  ) {}

  /** Starts listening; returns what stops it. */
  follow(): () => void {
    const stops = [
      this.events.listen((event) => {
        if (event.kind === 'tenant-destroyed') {
          this.reader.evict({ prefix: tenantScope(event.tenant).prefix });
        } else if (event.kind === 'data-key-destroyed') {
          this.reader.evict({ keyId: event.keyId });
        }
      }),
      this.notifications.subscribe(({ topic, keyId }) => {
        if (topic === DATA_KEY_DESTROYED_TOPIC && typeof keyId === 'string') {
          this.reader.evict({ keyId });
        }
      }),
    ];
    return () => {
      for (const stop of stops) stop();
    };
  }
}
