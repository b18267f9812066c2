import { MasterKeyProviderError, MasterKeyUnavailableError, quotedInput } from '@nest-kms/kms';
import { PKCS11_PROVIDER_NAME } from './pkcs11.constants.js';
import { pkcs11, type Pkcs11Handle } from './pkcs11-library.js';
import type { SharedModule } from './shared-module.js';
import {
  checkMasterKey,
  findAesKey,
  findToken,
  fingerprintOf,
  requireAesGcm,
} from './token-objects.js';

/** A logged-in session on the token and the master key's handle in it. */
export interface TokenSession {
  readonly slot: Pkcs11Handle;
  readonly serial: string;
  readonly session: Pkcs11Handle;
  readonly key: Pkcs11Handle;
  readonly fingerprint: string;
}

/** What opening a session needs. */
export interface TokenSessionRequest {
  readonly tokenLabel: string;
  readonly keyLabel: string;
  readonly userType: number;
  readonly pin: Buffer;
  /** Date.now() after which opening gives up (checked between the PKCS#11 calls). */
  readonly deadline: number;
  /** The fingerprint an earlier session found: another one now means another token or key. */
  readonly expected?: { readonly fingerprint: string };
}

/**
 * Finds the token by label, checks it offers AES-GCM, opens a read/write session, logs in and
 * finds the master key, refusing a key that could leave the token. The session is closed again
 * when a step fails.
 */
export function openTokenSession(shared: SharedModule, request: TokenSessionRequest): TokenSession {
  const library = shared.library;
  const inTime = (step: string) => {
    if (Date.now() > request.deadline) {
      throw new MasterKeyUnavailableError(
        PKCS11_PROVIDER_NAME,
        `opening the token took too long (${step})`,
      );
    }
  };
  const { slot, serial } = findToken(library, request.tokenLabel);
  requireAesGcm(library, slot);
  inTime('token found');
  const session = library.C_OpenSession(slot, pkcs11.CKF_RW_SESSION | pkcs11.CKF_SERIAL_SESSION);
  try {
    inTime('session opened');
    // pkcs11js takes the PIN as a string only; it lives for this call.
    shared.login(session, request.userType, request.pin.toString('utf8'));
    inTime('logged in');
    const key = findAesKey(library, session, request.keyLabel);
    if (key === undefined) {
      throw new MasterKeyProviderError(
        PKCS11_PROVIDER_NAME,
        `no AES secret key labelled ${quotedInput(request.keyLabel)} (keyLabel) on the token; create one with generatePkcs11MasterKey`,
      );
    }
    const id = checkMasterKey(library, session, key, request.keyLabel);
    const fingerprint = fingerprintOf(serial, request.keyLabel, id);
    if (request.expected && request.expected.fingerprint !== fingerprint) {
      throw new MasterKeyProviderError(
        PKCS11_PROVIDER_NAME,
        `the token now answers with another key (${fingerprint}) than at start (${request.expected.fingerprint})`,
      );
    }
    return { slot, serial, session, key, fingerprint };
  } catch (error) {
    try {
      library.C_CloseSession(session);
    } catch {
      // The failure may have closed it already.
    }
    throw error;
  }
}
