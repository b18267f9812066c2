import { ConsoleLogger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { KmsError } from '@nest-kms/kms';
import { AppModule } from './app.module.js';

async function bootstrap(logger: ConsoleLogger): Promise<void> {
  const app = await NestFactory.create(AppModule, { logger, abortOnError: false });
  app.enableShutdownHooks();
  await app.listen(process.env.PORT ?? 3000);
}

const logger = new ConsoleLogger('demo', { json: true });
try {
  await bootstrap(logger);
} catch (error) {
  // One line an operator can act on (library messages never carry secrets), not a stack trace.
  logger.fatal({
    event: 'startup_refused',
    code: error instanceof KmsError ? error.code : undefined,
    error: error instanceof Error ? error.message : String(error),
  });
  process.exitCode = 1;
}
