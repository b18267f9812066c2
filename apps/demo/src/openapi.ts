import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';

/** The OpenAPI document: the JSON at /docs-json, and with `ui` the UI at /docs. */
export function setupOpenApi(app: INestApplication, { ui }: { ui: boolean }): void {
  const config = new DocumentBuilder()
    .setTitle('nest-kms demo')
    .setDescription(
      'Envelope encryption, a secrets store and an encrypted entity, wired as the nest-kms README shows. ' +
        'Errors answer `{ code, message }`; a 500 also carries an `errorId` found in the log.',
    )
    .setVersion('0.1.0')
    .addBearerAuth({
      type: 'http',
      scheme: 'bearer',
      description:
        'The admin token (the secret ADMIN_TOKEN) for secrets, keys and /callers; a caller token from POST /callers/:caller/token for /encrypt, /decrypt and /notes (see apps/demo/README.md)',
    })
    .build();
  SwaggerModule.setup('docs', app, () => SwaggerModule.createDocument(app, config), { ui });
}
