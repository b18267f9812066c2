/** Largest JSON body accepted: a 64 KiB secret value, JSON-escaped, still fits. */
export const REQUEST_BODY_LIMIT_BYTES = 512 * 1024;
