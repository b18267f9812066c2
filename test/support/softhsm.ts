import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Where Debian and Ubuntu's softhsm2 package puts the PKCS#11 library. */
export const SOFTHSM_MODULE =
  process.env.KMS_TEST_SOFTHSM_MODULE ?? '/usr/lib/softhsm/libsofthsm2.so';

/** A SoftHSM2 token made for one test file. */
export interface SoftHsmToken {
  /** Path of the PKCS#11 library. */
  readonly module: string;
  readonly tokenLabel: string;
  /** The user PIN (random, throwaway). */
  readonly pin: string;
  /** Further tokens asked for with `otherTokenLabels`, each with its own PIN. */
  readonly otherTokens: readonly { readonly tokenLabel: string; readonly pin: string }[];
  /** Removes the token directory. */
  cleanup(): void;
}

function softHsmInstalled(): boolean {
  try {
    execFileSync('softhsm2-util', ['--version'], { stdio: 'ignore' });
    return existsSync(SOFTHSM_MODULE);
  } catch {
    return false;
  }
}

/**
 * Whether SoftHSM2 is here. Missing, the suites that need it are skipped with a notice; under
 * CI=true that is a failure instead (.ci/run installs it).
 */
export const softHsmAvailable: boolean = (() => {
  if (softHsmInstalled()) return true;
  if (process.env.CI === 'true') {
    throw new Error(`SoftHSM2 (softhsm2-util, ${SOFTHSM_MODULE}) is missing; CI=true requires it`);
  }
  console.warn(
    `[nest-kms tests] NOTICE: SoftHSM2 (softhsm2-util, ${SOFTHSM_MODULE}) is missing; the PKCS#11 suites are skipped`,
  );
  return false;
})();

/**
 * A new SoftHSM2 token in a temporary directory, with random PINs. SoftHSM2 reads
 * SOFTHSM2_CONF when the library is initialised, so this sets it for the whole process (a
 * test file runs in a process of its own): call it before anything initialises the library,
 * and make one token per file. The PINs go on softhsm2-util's command line: a throwaway test
 * token, not how a real PIN is handled. SoftHSM2 lists its tokens when initialised, so every
 * token a file needs is made here, up front.
 */
export function createSoftHsmToken(
  tokenLabel = `nest-kms-${randomBytes(3).toString('hex')}`,
  otherTokenLabels: readonly string[] = [],
): SoftHsmToken {
  const dir = mkdtempSync(join(tmpdir(), 'nest-kms-softhsm-'));
  const tokens = join(dir, 'tokens');
  mkdirSync(tokens, { mode: 0o700 });
  const conf = join(dir, 'softhsm2.conf');
  writeFileSync(
    conf,
    `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\n`,
    { mode: 0o600 },
  );
  process.env.SOFTHSM2_CONF = conf;
  const initToken = (label: string) => {
    const pin = randomBytes(8).toString('hex');
    const soPin = randomBytes(8).toString('hex');
    execFileSync(
      'softhsm2-util',
      ['--init-token', '--free', '--label', label, '--so-pin', soPin, '--pin', pin],
      { stdio: 'ignore', env: process.env },
    );
    return { tokenLabel: label, pin };
  };
  const first = initToken(tokenLabel);
  return {
    module: SOFTHSM_MODULE,
    ...first,
    otherTokens: otherTokenLabels.map(initToken),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
