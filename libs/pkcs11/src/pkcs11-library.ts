import pkcs11js from 'pkcs11js';

/**
 * pkcs11js is CommonJS whose exports Node cannot list for an ES module, so its API is read
 * through the default import, in this one place.
 */
export const pkcs11 = pkcs11js;

/** A loaded PKCS#11 library. */
export type Pkcs11 = InstanceType<typeof pkcs11js.PKCS11>;
/** A PKCS#11 handle (slot, session or object) as pkcs11js gives it. */
export type Pkcs11Handle = Buffer;

/** The CKR_* return value of a failed PKCS#11 call, or undefined for any other error. */
export function returnValueOf(error: unknown): { code: number; name: string } | undefined {
  if (!(error instanceof pkcs11js.Pkcs11Error)) return undefined;
  return { code: error.code, name: error.message };
}
