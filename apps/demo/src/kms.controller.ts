import { Body, Controller, Get, HttpCode, Post } from '@nestjs/common';
import { KmsService, type AadInput, type EnvelopeV1, type KmsStatus } from '@nest-kms/kms';

interface EncryptBody {
  plaintext: string;
  aad?: AadInput;
}

interface DecryptBody {
  envelope: EnvelopeV1 | string;
  aad?: AadInput;
}

/** Encryption endpoints of the demo (the secrets and admin endpoints come with their libraries). */
@Controller()
export class KmsController {
  constructor(private readonly kms: KmsService) {}

  @Post('encrypt')
  @HttpCode(200)
  async encrypt(@Body() body: EncryptBody): Promise<{ envelope: EnvelopeV1 }> {
    return { envelope: await this.kms.encryptData(body?.plaintext, { aad: body?.aad }) };
  }

  @Post('decrypt')
  @HttpCode(200)
  async decrypt(@Body() body: DecryptBody): Promise<{ plaintext: string }> {
    return { plaintext: await this.kms.decryptData(body?.envelope, { aad: body?.aad }) };
  }

  @Get('status')
  status(): KmsStatus {
    return this.kms.getStatus();
  }
}
