import { Body, Controller, HttpCode, Post, UseGuards } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiExtraModels,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { KmsService } from '@nest-kms/kms';
import { AdminTokenGuard } from '../auth/admin-token.guard.js';
import {
  DecryptRequest,
  DecryptResponse,
  EncryptRequest,
  EncryptResponse,
  EnvelopeDocument,
  KeyRotationResponse,
} from './kms.dto.js';

/** Envelope encryption with the active data key, and its rotation. */
@ApiTags('kms')
@ApiExtraModels(EnvelopeDocument)
@Controller()
export class KmsController {
  constructor(private readonly kms: KmsService) {}

  @Post('encrypt')
  @HttpCode(200)
  @ApiOperation({ summary: 'Encrypt under the active data key, optionally bound to a context' })
  @ApiOkResponse({ type: EncryptResponse })
  async encrypt(@Body() request: EncryptRequest): Promise<EncryptResponse> {
    return { envelope: await this.kms.encryptData(request.plaintext, { aad: request.aad }) };
  }

  @Post('decrypt')
  @HttpCode(200)
  @ApiOperation({ summary: 'Decrypt an envelope (object or compact string)' })
  @ApiOkResponse({ type: DecryptResponse })
  async decrypt(@Body() request: DecryptRequest): Promise<DecryptResponse> {
    return { plaintext: await this.kms.decryptData(request.envelope, { aad: request.aad }) };
  }

  @Post('keys/rotate')
  @HttpCode(200)
  @UseGuards(AdminTokenGuard)
  @ApiBearerAuth()
  @ApiOperation({ summary: 'A new active data key; older keys keep decrypting' })
  @ApiOkResponse({ type: KeyRotationResponse })
  async rotate(): Promise<KeyRotationResponse> {
    const { keyId, previousKeyId } = await this.kms.rotateDataKey();
    return { keyId, previousKeyId };
  }
}
