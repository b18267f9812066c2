import {
  Injectable,
  Logger,
  Module,
  type ModuleMetadata,
  type OnModuleDestroy,
  type OnModuleInit,
} from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import type { Subscription } from 'rxjs';
import { KmsModule, KmsService } from '@nest-kms/kms';
import {
  InjectSecret,
  InvalidSecretInputError,
  SecretDeletedError,
  SecretRef,
  SecretsModule,
  SecretsService,
  getSecretToken,
  type SecretChange,
  type SecretsModuleOptions,
} from '@nest-kms/secrets';
import { CapturedLogger } from './support/captured-logger.js';
import { ENGINES, createTestDatabase, type TestDatabase } from './support/databases.js';
import { newMasterKey } from './support/kms-fixture.js';
import { asyncRegistration, type Registration } from './support/registration.js';
import { startSecretsApp, type SecretsApp } from './support/secrets-fixture.js';
import { eventually } from './support/eventually.js';

/** Every value this suite stores: no log line may contain one. */
const values = new Set<string>();
const loggers: CapturedLogger[] = [];

function secretValue(label: string): string {
  const value = `${label}-${randomBytes(8).toString('hex')}`;
  values.add(value);
  return value;
}

/** What a provider builds from a secret: here, a client holding the API key it was built with. */
interface ApiClient {
  readonly apiKey: string;
  readonly build: number;
}

/** A provider as users write them: it builds its client from the secret and rebuilds on change. */
@Injectable()
class ExternalApiClient implements OnModuleInit, OnModuleDestroy {
  client: ApiClient | undefined;
  readonly changes: SecretChange[] = [];
  readonly rebuildFailures: unknown[] = [];
  private builds = 0;
  private subscription: Subscription | undefined;

  constructor(@InjectSecret('API_KEY') private readonly apiKey: SecretRef) {}

  async onModuleInit(): Promise<void> {
    await this.connect();
    this.subscription = this.apiKey.changes.subscribe((change) => {
      this.changes.push(change);
      this.connect().catch((error: unknown) => this.rebuildFailures.push(error));
    });
  }

  onModuleDestroy(): void {
    this.subscription?.unsubscribe();
  }

  get ref(): SecretRef {
    return this.apiKey;
  }

  private async connect(): Promise<void> {
    this.client = { apiKey: await this.apiKey.value(), build: ++this.builds };
  }
}

@Module({
  imports: [SecretsModule.forFeature(['API_KEY'])],
  providers: [ExternalApiClient],
  exports: [ExternalApiClient],
})
class ExternalApiModule {}

/** `SecretsModule` registered in one of its async styles with the same options. */
function secretsModule(style: Exclude<Registration, 'forRoot'>, options: SecretsModuleOptions) {
  return SecretsModule.forRootAsync(asyncRegistration(style, 'createSecretsOptions', options));
}

describe.each(ENGINES)('@InjectSecret on %s', (engine) => {
  let db: TestDatabase;
  let masterKey: string;
  const apps: SecretsApp[] = [];

  /** An app with the feature module, SecretsModule registered in `style`. */
  const start = async (
    style: Registration = 'forRoot',
    imports: ModuleMetadata['imports'] = [ExternalApiModule],
  ): Promise<SecretsApp> => {
    const options: SecretsModuleOptions = { audit: { flushIntervalMs: 10 } };
    let app: SecretsApp;
    if (style === 'forRoot') {
      app = await startSecretsApp(db, { masterKey, secrets: options, imports });
    } else {
      const logger = new CapturedLogger();
      const moduleRef = await Test.createTestingModule({
        imports: [
          KmsModule.forRoot({ masterKey, connection: db.connection }),
          secretsModule(style, options),
          ...(imports ?? []),
        ],
      })
        .setLogger(logger)
        .compile();
      const context = await moduleRef.init();
      app = {
        app: context,
        secrets: context.get(SecretsService),
        kms: context.get(KmsService),
        logger,
        close: () => context.close(),
      };
    }
    apps.push(app);
    loggers.push(app.logger);
    return app;
  };

  /** Stores API_KEY before the app under test starts, as a deployment would have. */
  const seed = async (value: string): Promise<void> => {
    const app = await startSecretsApp(db, { masterKey });
    loggers.push(app.logger);
    try {
      await app.secrets.setSecret('API_KEY', value, { tags: { service: 'external-api' } });
    } finally {
      await app.close();
    }
  };

  beforeEach(async () => {
    masterKey = newMasterKey();
    db = await createTestDatabase(engine);
  });

  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
    await db.drop();
  });

  it.each(['forRoot', 'useFactory', 'useClass', 'useExisting'] as const)(
    'registered with %s: the provider sees a rotation without a restart and rebuilds its client',
    async (style) => {
      const first = secretValue('first');
      await seed(first);
      const { app, secrets } = await start(style);
      const provider = app.get(ExternalApiClient);
      expect(provider.client).toEqual({ apiKey: first, build: 1 });
      expect(await provider.ref.value()).toBe(first);

      const second = secretValue('second');
      await secrets.rotateSecret('API_KEY', second);
      expect(await provider.ref.value()).toBe(second);
      expect(provider.changes).toEqual([{ name: 'API_KEY', version: 2, reason: 'rotated' }]);
      await eventually(() => expect(provider.client).toEqual({ apiKey: second, build: 2 }));

      const third = secretValue('third');
      await secrets.rotateSecret('API_KEY', third);
      await eventually(() => expect(provider.client).toEqual({ apiKey: third, build: 3 }));
      expect(provider.changes.map((change) => change.version)).toEqual([2, 3]);
      expect(provider.rebuildFailures).toEqual([]);
    },
  );

  it('tells only the subscribers of that secret, with reasons, and never the value', async () => {
    await seed(secretValue('seeded'));
    const { app, secrets } = await start();
    const provider = app.get(ExternalApiClient);
    await secrets.setSecret('OTHER_KEY', secretValue('other'));
    const updated = secretValue('updated');
    await secrets.setSecret('API_KEY', updated);
    await eventually(() => expect(provider.client).toEqual({ apiKey: updated, build: 2 }));
    await secrets.deleteSecret('API_KEY');
    await expect(provider.ref.value()).rejects.toBeInstanceOf(SecretDeletedError);
    // The rebuild after the delete fails as it should: "Secret not found".
    await eventually(() =>
      expect(provider.rebuildFailures).toEqual([expect.any(SecretDeletedError)]),
    );
    await secrets.recoverSecret('API_KEY');
    expect(await provider.ref.value()).toBe(updated);

    expect(provider.changes).toEqual([
      { name: 'API_KEY', version: 2, reason: 'updated' },
      { name: 'API_KEY', version: null, reason: 'deleted' },
      { name: 'API_KEY', version: 2, reason: 'recovered' },
    ]);
    await eventually(() => expect(provider.client).toEqual({ apiKey: updated, build: 3 }));
    expect(provider.rebuildFailures).toHaveLength(1);
  });

  it('never shows the value in the JSON, string or inspect form of the ref', async () => {
    const value = secretValue('hidden');
    await seed(value);
    const { app, logger } = await start();
    const ref = app.get<SecretRef>(getSecretToken('API_KEY'));
    expect(ref).toBe(app.get(ExternalApiClient).ref);
    expect(await ref.value()).toBe(value);

    const forms = [
      JSON.stringify(ref),
      JSON.stringify({ config: { apiKey: ref } }),
      String(ref),
      `${ref}`,
      inspect(ref),
      inspect(ref, { showHidden: true, depth: Infinity }),
      inspect({ apiKey: ref }, { depth: Infinity }),
    ];
    for (const form of forms) {
      expect(form).toContain('API_KEY');
      expect(form).not.toContain(value);
    }
    expect(JSON.parse(JSON.stringify(ref))).toEqual({ secret: 'API_KEY' });

    // Logged by mistake, as an object: the line names the secret, not its value.
    new Logger('ExternalApi').log({ event: 'client_config', apiKey: ref });
    expect(logger.events('client_config')).toEqual([
      expect.objectContaining({ apiKey: { secret: 'API_KEY' } }),
    ]);
  });

  it('completes the changes of a ref when the app closes', async () => {
    await seed(secretValue('closing'));
    const app = await start();
    let completed = false;
    app.app.get(ExternalApiClient).ref.changes.subscribe({ complete: () => (completed = true) });
    await app.close();
    apps.splice(apps.indexOf(app), 1);
    expect(completed).toBe(true);
  });

  it('fails at module build when forFeature is given an invalid name', async () => {
    for (const name of ['has space', '', '-dash-first', 'a'.repeat(129), 'API_KEY\n']) {
      const built = await (async () => {
        @Module({ imports: [SecretsModule.forFeature(['API_KEY', name])] })
        class BadFeatureModule {}
        return start('forRoot', [BadFeatureModule]);
      })().then(
        () => 'built',
        (error: unknown) => error,
      );
      expect(built).toBeInstanceOf(InvalidSecretInputError);
      expect(built).toMatchObject({ field: 'name', code: 'SECRET_INVALID_INPUT' });
    }
    expect(apps).toEqual([]);
  });

  it('fails at module build when a provider injects a secret its module did not list', async () => {
    @Injectable()
    class NeedsOther {
      constructor(@InjectSecret('OTHER_KEY') readonly other: SecretRef) {}
    }
    @Module({ imports: [SecretsModule.forFeature(['API_KEY'])], providers: [NeedsOther] })
    class UnlistedModule {}

    const failure = await start('forRoot', [UnlistedModule]).then(
      () => 'built',
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(Error);
    expect((failure as Error).message).toContain(getSecretToken('OTHER_KEY'));
  });
});

it('writes no secret value to any log line of this suite', () => {
  expect(loggers.length).toBeGreaterThan(0);
  const texts = [CapturedLogger.allText(), ...loggers.map((logger) => logger.text())];
  expect(texts[0]).toContain('secret_rotated');
  const leaks = [...values].filter((value) => texts.some((text) => text.includes(value)));
  expect(leaks).toEqual([]);
});
