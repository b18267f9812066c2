import { parentPort } from 'node:worker_threads';
import { openEnvelope, sealEnvelope } from '../envelope/envelope-cipher.js';
import { formatCompactEnvelope, parseCompactEnvelope } from '../envelope/envelope-codec.js';
import type { EnvelopePurpose } from '../envelope/envelope.interface.js';
import type { RewrapThreadReply, RewrapThreadRequest } from './rewrap-thread.js';

/*
 * Re-encryption's rewrap on a thread of its own, so that the job's writes (better-sqlite3 holds
 * the main thread while a statement runs) and its crypto use both cores. It rewraps only what
 * needs no decision: an envelope in its column's own format under a key it was handed. Anything
 * else (a store's format-v1 value, a key it does not hold, a fault) comes back as null and the
 * main thread rewraps it the long way, which names and counts the fault.
 */
const port = parentPort!;
const keys = new Map<string, Buffer>();
let active: string | undefined;

port.on('message', (message: RewrapThreadRequest) => {
  if (message.kind === 'keys') {
    for (const { id, material } of message.keys) keys.set(id, Buffer.from(material));
    active = message.active;
  } else if (message.kind === 'batch') {
    const envelopes = message.envelopes.map((compact) => rewrap(compact, message.purpose));
    const reply: RewrapThreadReply = { batch: message.batch, envelopes };
    port.postMessage(reply);
  } else {
    // The keys were handed over, not copied: these are the only copies, zeroed before leaving.
    for (const material of keys.values()) material.fill(0);
    keys.clear();
    port.close();
  }
});

function rewrap(compact: string, purpose: EnvelopePurpose | undefined): string | null {
  const activeKey = active === undefined ? undefined : keys.get(active);
  if (activeKey === undefined) return null;
  try {
    const parsed = parseCompactEnvelope(compact, purpose);
    if (parsed.purpose !== purpose) return null;
    const key = keys.get(parsed.keyId);
    if (key === undefined) return null;
    const plaintext = openEnvelope(key, parsed);
    try {
      const sealed = sealEnvelope(activeKey, active!, plaintext, parsed.aad, Date.now(), purpose);
      return formatCompactEnvelope(sealed);
    } finally {
      plaintext.fill(0);
    }
  } catch {
    return null;
  }
}
