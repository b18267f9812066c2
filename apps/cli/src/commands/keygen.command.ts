import { randomBytes } from 'node:crypto';
import type { CliCommand } from '../cli-command.interface.js';

/** A new master key on stdout and nothing else, so `KMS_MASTER_KEY=$(nest-kms keygen)` works. */
export const keygenCommand: CliCommand = {
  path: ['keygen'],
  summary: 'print a new master key (base64 of 32 random bytes)',
  details: [
    'Needs no database and no KMS_MASTER_KEY. Keep the key in your secret store before using it:',
    'without it every key and secret stored under it is lost.',
  ],
  store: false,
  async run({ out }) {
    const key = randomBytes(32);
    try {
      out.line(key.toString('base64'));
    } finally {
      key.fill(0);
    }
  },
};
