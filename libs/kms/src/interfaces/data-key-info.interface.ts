/** A data key as an operator sees it: never its material, wrapped or not. */
export interface DataKeyInfo {
  readonly id: string;
  /** One key is active (it encrypts); retired keys only decrypt. */
  readonly status: 'active' | 'retired';
  readonly createdAt: string;
  readonly retiredAt: string | null;
  /** The master key that wraps it (non-secret fingerprint). */
  readonly masterKeyFingerprint: string;
}
