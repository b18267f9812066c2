import { Agent, type AgentOptions, type RequestOptions } from 'node:https';
import type { Duplex } from 'node:stream';
import { CONNECT_TIMEOUT_CODE } from './azure-key-vault.constants.js';

/**
 * A keep-alive HTTPS agent whose new connections fail when TCP and TLS are not done within
 * `connectTimeoutMs`. The Azure pipeline has a per-request timeout but none for connecting, and
 * a vault address that swallows packets would otherwise hold a socket until the OS gives up.
 */
export class ConnectTimeoutAgent extends Agent {
  constructor(
    private readonly connectTimeoutMs: number,
    options: AgentOptions,
  ) {
    super({ ...options, keepAlive: true });
  }

  override createConnection(
    options: RequestOptions,
    callback?: (err: Error | null, stream: Duplex) => void,
  ): Duplex | null | undefined {
    const socket = super.createConnection(options, callback);
    if (!socket) return socket;
    const timer = setTimeout(() => {
      const error = Object.assign(new Error(`no connection within ${this.connectTimeoutMs} ms`), {
        code: CONNECT_TIMEOUT_CODE,
      });
      socket.destroy(error);
    }, this.connectTimeoutMs);
    // A pending connect must not keep the process alive on its own.
    timer.unref();
    const connected = (): void => clearTimeout(timer);
    socket.once('secureConnect', connected);
    socket.once('close', connected);
    return socket;
  }
}
