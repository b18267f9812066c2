import { ConsoleLogger } from '@nestjs/common';
import { createDemoApp, listenDemoApp } from './demo-app.js';
import { DemoConfig } from './demo.config.js';

const logger = new ConsoleLogger('demo', { json: true });
try {
  const app = await createDemoApp({ logger });
  app.enableShutdownHooks();
  const { port } = app.get(DemoConfig);
  await listenDemoApp(app, port);
  logger.log({ event: 'demo_listening', port, httpAdapter: app.getHttpAdapter().getType() });
} catch (error) {
  // One line an operator can act on (library messages never carry secrets), not a stack trace.
  logger.fatal({
    event: 'startup_refused',
    code: (error as { code?: unknown } | null)?.code,
    error: error instanceof Error ? error.message : String(error),
  });
  process.exitCode = 1;
}
