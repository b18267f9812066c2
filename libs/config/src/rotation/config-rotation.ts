import type { SecretsService } from '@nest-kms/secrets';
import type { Subscription } from 'rxjs';
import type { ConfigState } from '../config-state.js';
import type { ConfigResolver } from '../resolution/config-resolver.js';
import type { FieldPlan } from '../schema/config-plan.js';
import type { ConfigRefresh } from './config-refresh.js';

/**
 * Follows the bound secrets: on every change (rotation, update, creation by an import,
 * deletion) the fields bound to that secret are read again (ConfigRefresh). Following starts
 * before the start-up read, so a change during it is not missed: its re-read waits until the
 * configuration has loaded (and is dropped if it never does).
 */
export class ConfigRotation {
  private readonly subscriptions: Subscription[] = [];

  constructor(
    private readonly state: ConfigState,
    private readonly refresh: ConfigRefresh,
    private readonly resolver: ConfigResolver,
    private readonly secrets: SecretsService,
  ) {}

  start(): void {
    const bySecret = new Map<string, FieldPlan[]>();
    for (const plan of this.state.plans) {
      if (plan.secret !== null)
        bySecret.set(plan.secret, [...(bySecret.get(plan.secret) ?? []), plan]);
    }
    for (const [secret, plans] of bySecret) {
      this.subscriptions.push(
        this.secrets.watch(secret).subscribe((change) => {
          const trigger = { secret: change.name, reason: change.reason };
          for (const plan of plans) void this.refresh.enqueue(plan, trigger, this.resolver);
        }),
      );
    }
  }

  /**
   * Stops following and lets the re-reads under way finish, so a change committed before the
   * application closes is applied (module destruction runs before the store's connection closes).
   */
  async stop(): Promise<void> {
    for (const subscription of this.subscriptions.splice(0)) subscription.unsubscribe();
    await this.refresh.drain();
  }
}
