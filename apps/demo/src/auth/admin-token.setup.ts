import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { filter, firstValueFrom } from 'rxjs';
import { KmsConfigService } from '@nest-kms/config';
import { SecretsService } from '@nest-kms/secrets';
import { ADMIN_TOKEN_SECRET, type DemoConfig } from '../demo.config.js';
import {
  DEMO_ENVIRONMENT,
  demoRegion,
  developmentAdminTokenFile,
  isProduction,
  type DemoEnvironment,
} from '../demo-environment.js';
import { ReplicaNotSeededError } from '../replica-not-seeded.error.js';
import { AdminTokenMissingError } from './admin-token-missing.error.js';

const ACTOR = 'nest-kms-demo';
const MIN_TOKEN_LENGTH = 16;

/**
 * Puts the admin token in the secrets store on a development start: the value of the
 * environment variable ADMIN_TOKEN, or without it a random token written to
 * `<DATA_DIR>/dev-admin-token` (mode 0600). Later starts read the secret. In production the
 * token must already be stored (or set in the environment); nothing is generated. A replica
 * region stores nothing: it reads the token the primary stored, or serves ADMIN_TOKEN as set.
 */
@Injectable()
export class AdminTokenSetup implements OnApplicationBootstrap {
  private readonly logger = new Logger(AdminTokenSetup.name);

  constructor(
    private readonly loader: KmsConfigService<DemoConfig>,
    private readonly secrets: SecretsService,
    @Inject(DEMO_ENVIRONMENT) private readonly env: DemoEnvironment,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const { source } = this.loader.getStatus().fields.adminToken;
    if (source === 'secret') return;
    if (isProduction(this.env)) {
      if (source === 'unset') throw new AdminTokenMissingError();
      return;
    }
    const region = demoRegion(this.env);
    if (region.role === 'replica') {
      if (source === 'unset') throw new ReplicaNotSeededError(ADMIN_TOKEN_SECRET, region.primary);
      return;
    }
    if (source === 'env') {
      const report = await this.loader.importFromEnv([ADMIN_TOKEN_SECRET], { actor: ACTOR });
      this.logger.log({ event: 'demo_admin_token_stored', from: 'env', ...report });
      return;
    }
    const file = developmentAdminTokenFile(this.env);
    const token = await readOrCreateToken(file);
    // The configuration follows the new secret on its own; wait so the first request sees it.
    const adopted = firstValueFrom(
      this.loader.changes.pipe(filter((change) => change.field === 'adminToken')),
    );
    await this.secrets.setSecret(ADMIN_TOKEN_SECRET, token, {
      actor: ACTOR,
      description: `Admin token of the demo (development, from ${file})`,
    });
    await adopted;
    this.logger.warn({
      event: 'demo_development_admin_token',
      file,
      hint: 'send it as "Authorization: Bearer <token>"; in production set ADMIN_TOKEN or store the secret',
    });
  }
}

async function readOrCreateToken(file: string): Promise<string> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const token = randomBytes(32).toString('base64url');
  try {
    await writeFile(file, `${token}\n`, { mode: 0o600, flag: 'wx' });
    return token;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const existing = (await readFile(file, 'utf8')).trim();
  if (existing.length < MIN_TOKEN_LENGTH) throw new AdminTokenMissingError(file);
  return existing;
}
