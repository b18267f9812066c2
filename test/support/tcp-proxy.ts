import {
  createConnection,
  createServer,
  type AddressInfo,
  type Server,
  type Socket,
} from 'node:net';

type Mode = 'forward' | 'refuse' | 'silent';

/** One client connection and, once forwarding, its upstream connection. */
class Link {
  upstream: Socket | undefined;
  /** Settles once the server has answered the held bytes the last release() delivered to it. */
  answer: Promise<void> = Promise.resolve();
  /** Bytes held while silent, per direction: delivered late once traffic flows again. */
  private readonly held: { up: Buffer[]; down: Buffer[] } = { up: [], down: [] };
  private answered: (() => void) | undefined;

  constructor(
    readonly client: Socket,
    private readonly proxy: TcpProxy,
  ) {
    client.on('data', (chunk) => this.send('up', chunk));
    client.on('error', () => this.close());
    client.on('close', () => this.close());
  }

  connect(host: string, port: number): void {
    const upstream = createConnection({ host, port });
    this.upstream = upstream;
    upstream.on('data', (chunk) => this.send('down', chunk));
    upstream.on('error', () => this.close());
    upstream.on('close', () => this.close());
    this.release();
  }

  /** True when bytes held on their way to the server contain `text`. */
  holds(text: string): boolean {
    return Buffer.concat(this.held.up).includes(text);
  }

  /** Delivers what was held, as TCP retransmission does once a network heals. */
  release(): void {
    if (this.upstream && this.held.up.length > 0) {
      this.answer = new Promise((resolve) => (this.answered = resolve));
    }
    for (const chunk of this.held.up.splice(0)) this.upstream?.write(chunk);
    for (const chunk of this.held.down.splice(0)) this.client.write(chunk);
  }

  reset(): void {
    this.client.resetAndDestroy();
    this.upstream?.resetAndDestroy();
  }

  private send(direction: 'up' | 'down', chunk: Buffer): void {
    const target = direction === 'up' ? this.upstream : this.client;
    if (this.proxy.mode === 'silent' || !target) {
      this.held[direction].push(chunk);
      return;
    }
    target.write(chunk);
    if (direction === 'down') this.answered?.();
  }

  private close(): void {
    this.answered?.();
    this.client.destroy();
    this.upstream?.destroy();
    this.proxy.forget(this);
  }
}

/**
 * A TCP proxy in front of a database, for outages without touching the real server (other
 * suites share it): `refuse()` resets every connection and each new one, `silence()` accepts
 * and holds all traffic without forwarding it (a network dropping packets), `restore()` lets
 * traffic flow again, held bytes first.
 */
export class TcpProxy {
  mode: Mode = 'forward';
  private readonly links = new Set<Link>();

  private constructor(
    private readonly server: Server,
    private readonly target: { host: string; port: number },
  ) {}

  static async start(target: { host: string; port: number }): Promise<TcpProxy> {
    const server = createServer();
    const proxy = new TcpProxy(server, target);
    server.on('connection', (socket) => proxy.accept(socket));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  refuse(): void {
    this.mode = 'refuse';
    for (const link of this.links) link.reset();
  }

  silence(): void {
    this.mode = 'silent';
  }

  restore(): void {
    this.mode = 'forward';
    for (const link of this.links) {
      if (link.upstream) link.release();
      else link.connect(this.target.host, this.target.port);
    }
  }

  /** True when traffic held while silent, on its way to the server, contains `text`. */
  holds(text: string): boolean {
    return [...this.links].some((link) => link.holds(text));
  }

  /**
   * Settles once the server has answered, on each connection, what the last restore() delivered
   * late (or the connection closed). Postgres answers a statement's messages only at the Sync
   * that ends them, so an answer means the statement has run and committed.
   */
  async delivered(): Promise<void> {
    await Promise.all([...this.links].map((link) => link.answer));
  }

  async close(): Promise<void> {
    for (const link of this.links) link.reset();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  forget(link: Link): void {
    this.links.delete(link);
  }

  private accept(socket: Socket): void {
    if (this.mode === 'refuse') {
      socket.on('error', () => undefined);
      socket.resetAndDestroy();
      return;
    }
    const link = new Link(socket, this);
    this.links.add(link);
    if (this.mode === 'forward') link.connect(this.target.host, this.target.port);
  }
}
