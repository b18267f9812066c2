import { ConsoleLogger } from '@nestjs/common';
import { createDemoApp } from './demo-app.js';
import { DemoConfig } from './demo.config.js';

const logger = new ConsoleLogger('demo', { json: true });
try {
  const app = await createDemoApp({ logger });
  app.enableShutdownHooks();
  const { port } = app.get(DemoConfig);
  await app.listen(port);
  logger.log({ event: 'demo_listening', port });
} catch (error) {
  // One line an operator can act on (library messages never carry secrets), not a stack trace.
  logger.fatal({
    event: 'startup_refused',
    code: (error as { code?: unknown } | null)?.code,
    error: error instanceof Error ? error.message : String(error),
  });
  process.exitCode = 1;
}
