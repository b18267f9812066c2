/** Where the master key is: the PKCS#11 library, the token and the key on it. */
export interface Pkcs11TokenOptions {
  /** Path of the PKCS#11 library (`/usr/lib/softhsm/libsofthsm2.so`, a vendor's `.so`). */
  readonly module: string;
  /**
   * Label of the token (CKA token info `label`). The token is found by label, never by slot
   * number, because slot numbers change when tokens are added; none or more than one match is
   * refused.
   */
  readonly tokenLabel: string;
  /** CKA_LABEL of the AES-256 secret key object on the token. */
  readonly keyLabel: string;
  /**
   * The user PIN. A Buffer is copied (zero yours afterwards) and the copy is zeroed on destroy.
   * Give exactly one of `pin` and `pinFile`.
   */
  readonly pin?: string | Buffer;
  /**
   * A file holding the user PIN (one trailing newline is ignored). It must not be readable by
   * group or others (chmod 600). Read once, when the provider is made.
   */
  readonly pinFile?: string;
  /**
   * The CKU_* user type to log in as. Some HSMs define their own (a "crypto user").
   * @default 1 (CKU_USER)
   */
  readonly userType?: number;
}

/** Options of {@link pkcs11MasterKey}. */
export interface Pkcs11MasterKeyOptions extends Pkcs11TokenOptions {
  /**
   * How long the first call may spend opening the token (initialise, find the token, open a
   * session, log in, find the key) before it fails with MasterKeyUnavailableError. Checked
   * between the steps: one PKCS#11 call that hangs cannot be interrupted.
   * @default 3000
   */
  readonly connectTimeoutMs?: number;
  /**
   * How long one wrap or unwrap may take, waiting for its turn on the session included, before
   * it fails with MasterKeyUnavailableError.
   * @default 10000
   */
  readonly requestTimeoutMs?: number;
}

/** Options of {@link generatePkcs11MasterKey}. */
export interface GeneratePkcs11MasterKeyOptions extends Pkcs11TokenOptions {
  /** CKA_ID to give the new key; it becomes part of the fingerprint. */
  readonly id?: Buffer;
}
