import { MasterKeyProviderError } from '@nest-kms/kms';
import { PKCS11_PROVIDER_NAME } from './pkcs11.constants.js';
import { pkcs11, returnValueOf, type Pkcs11, type Pkcs11Handle } from './pkcs11-library.js';

/**
 * A PKCS#11 library as this process shares it. The library is loaded once per process (the
 * dynamic loader hands every caller the same copy), C_Initialize and C_Finalize act on all of
 * its users, and a login holds for every session of the process on that token: so library and
 * logins are reference-counted here, for every provider in the process.
 */
export class SharedModule {
  private static readonly loaded = new Map<string, SharedModule>();
  private users = 0;
  /** False when someone else in the process (another library, a test) initialised it first. */
  private ownsInitialization = false;
  private initialized = false;
  private readonly logins = new Map<string, number>();

  private constructor(
    readonly path: string,
    readonly library: Pkcs11,
  ) {}

  /** The library at `path`, loaded and initialised; pair every call with release(). */
  static acquire(path: string): SharedModule {
    let shared = SharedModule.loaded.get(path);
    if (!shared) {
      const library = new pkcs11.PKCS11();
      try {
        library.load(path);
      } catch (error) {
        throw new MasterKeyProviderError(
          PKCS11_PROVIDER_NAME,
          `cannot load the PKCS#11 library ${JSON.stringify(path)} (${(error as Error).message})`,
        );
      }
      shared = new SharedModule(path, library);
      SharedModule.loaded.set(path, shared);
    }
    shared.users += 1;
    try {
      shared.initialize();
    } catch (error) {
      shared.release();
      throw error;
    }
    return shared;
  }

  /** Initialises again after the library reported CKR_CRYPTOKI_NOT_INITIALIZED. */
  initialize(): void {
    if (this.initialized) return;
    try {
      // OS locking: pkcs11js runs the async calls on worker threads.
      this.library.C_Initialize({ flags: pkcs11.CKF_OS_LOCKING_OK });
      this.ownsInitialization = true;
    } catch (error) {
      if (returnValueOf(error)?.code !== pkcs11.CKR_CRYPTOKI_ALREADY_INITIALIZED) throw error;
    }
    this.initialized = true;
  }

  /** Marks the library as finalised under us, so the next session opening initialises it. */
  lostInitialization(): void {
    this.initialized = false;
    this.ownsInitialization = false;
  }

  /**
   * C_Login on `session`. CKR_USER_ALREADY_LOGGED_IN is success: a login holds for every
   * session of the process on that token, and another provider may have logged in first.
   */
  login(session: Pkcs11Handle, userType: number, pin: string): void {
    try {
      this.library.C_Login(session, userType, pin);
    } catch (error) {
      if (returnValueOf(error)?.code !== pkcs11.CKR_USER_ALREADY_LOGGED_IN) throw error;
    }
  }

  /** Counts one more provider that needs `slot`'s token logged in. */
  holdLogin(slot: Pkcs11Handle): void {
    const token = slot.toString('hex');
    this.logins.set(token, (this.logins.get(token) ?? 0) + 1);
  }

  /**
   * Gives back one hold on `slot`'s token; the last one logs out through `session`, so that
   * destroying one provider does not log out another that shares the token.
   */
  releaseLogin(session: Pkcs11Handle | undefined, slot: Pkcs11Handle): void {
    const token = slot.toString('hex');
    const left = (this.logins.get(token) ?? 1) - 1;
    if (left > 0) {
      this.logins.set(token, left);
      return;
    }
    this.logins.delete(token);
    // Without a session of ours there is nothing to log out: closing the last one logged out.
    if (session === undefined) return;
    try {
      this.library.C_Logout(session);
    } catch {
      // Already logged out (the session was closed under us): nothing left to release.
    }
  }

  /** Gives back this user's share; the last one finalises (if this process initialised it). */
  release(): void {
    this.users -= 1;
    if (this.users > 0) return;
    SharedModule.loaded.delete(this.path);
    try {
      if (this.ownsInitialization && this.initialized) this.library.C_Finalize();
    } catch {
      // Finalised by someone else already: the library is released below all the same.
    }
    this.library.close();
  }
}
