import type { EnvelopeV1 } from '@nest-kms/kms';
import type { DemoTestApp } from './demo-app.js';
import type { DemoTranscript } from './demo-transcript.js';

/**
 * Caller tokens of one demo app, issued by its admin endpoint once per caller and remembered
 * by `transcript`, so no answer or log line may show them.
 */
export class DemoCallers {
  private readonly tokens = new Map<string, string>();

  constructor(
    private readonly demo: DemoTestApp,
    private readonly transcript: DemoTranscript,
  ) {}

  async token(caller: string): Promise<string> {
    const known = this.tokens.get(caller);
    if (known !== undefined) return known;
    const response = await this.demo.call('post', `/callers/${caller}/token`, { reveals: true });
    expect(response.status).toBe(200);
    const token = this.transcript.remember(response.body.token as string);
    this.tokens.set(caller, token);
    return token;
  }

  /** `plaintext` sealed by POST /encrypt as `caller`, which must answer 200. */
  readonly encrypt = async (
    plaintext: string,
    aad?: unknown,
    caller = 'caller-a',
  ): Promise<EnvelopeV1> => {
    const token = await this.token(caller);
    const response = await this.demo.call('post', '/encrypt', { token, body: { plaintext, aad } });
    expect(response.status).toBe(200);
    return response.body.envelope as EnvelopeV1;
  };

  /** POST /decrypt of `body` as `caller`: the answer, which may show the plaintext. */
  readonly decrypt = async (body: unknown, caller = 'caller-a') => {
    const token = await this.token(caller);
    return this.demo.call('post', '/decrypt', { token, body, reveals: true });
  };
}
