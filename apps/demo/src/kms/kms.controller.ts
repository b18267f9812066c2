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
import { Caller } from '../auth/caller.decorator.js';
import { CallerTokenGuard } from '../auth/caller-token.guard.js';
import {
  DecryptRequest,
  DecryptResponse,
  EncryptRequest,
  EncryptResponse,
  EnvelopeDocument,
  KeyRotationResponse,
} from './kms.dto.js';
import {
  DecryptBatchRequest,
  DecryptBatchResponse,
  EncryptBatchRequest,
  EncryptBatchResponse,
} from './kms-batch.dto.js';
import { checkBatchSize, transitBatch } from './kms-batch.js';
import { transitAad } from './transit-aad.js';

/**
 * Transit encryption for callers (each opens only its own envelopes) and, for the admin, the
 * rotation of the data key.
 */
@ApiTags('kms')
@ApiExtraModels(EnvelopeDocument)
@Controller()
export class KmsController {
  constructor(private readonly kms: KmsService) {}

  @Post('encrypt')
  @HttpCode(200)
  @UseGuards(CallerTokenGuard)
  @ApiBearerAuth()
  @ApiOperation({
    summary: 'Encrypt under the active data key, bound to this caller and optionally a context',
  })
  @ApiOkResponse({ type: EncryptResponse })
  async encrypt(
    @Caller() caller: string,
    @Body() request: EncryptRequest,
  ): Promise<EncryptResponse> {
    const aad = transitAad(caller, request.aad);
    return { envelope: await this.kms.encryptData(request.plaintext, { aad }) };
  }

  @Post('decrypt')
  @HttpCode(200)
  @UseGuards(CallerTokenGuard)
  @ApiBearerAuth()
  @ApiOperation({ summary: "Decrypt one of this caller's /encrypt envelopes (object or compact)" })
  @ApiOkResponse({ type: DecryptResponse })
  async decrypt(
    @Caller() caller: string,
    @Body() request: DecryptRequest,
  ): Promise<DecryptResponse> {
    const aad = transitAad(caller, request.aad);
    // The caller names itself: its failures are counted (threat detection) and a block holds.
    return { plaintext: await this.kms.decryptData(request.envelope, { aad, actor: caller }) };
  }

  @Post('encrypt/batch')
  @HttpCode(200)
  @UseGuards(CallerTokenGuard)
  @ApiBearerAuth()
  @ApiOperation({
    summary: 'Encrypt many values in one call: one result per item, in order, each failing alone',
  })
  @ApiOkResponse({ type: EncryptBatchResponse })
  async encryptBatch(
    @Caller() caller: string,
    @Body() request: EncryptBatchRequest,
  ): Promise<EncryptBatchResponse> {
    checkBatchSize(request.items);
    const results = await transitBatch(caller, request.items, 'envelope', (bound) =>
      this.kms.encryptMany(bound.map(({ item, aad }) => ({ plaintext: item.plaintext, aad }))),
    );
    return { results };
  }

  @Post('decrypt/batch')
  @HttpCode(200)
  @UseGuards(CallerTokenGuard)
  @ApiBearerAuth()
  @ApiOperation({
    summary: "Decrypt many of this caller's /encrypt envelopes: one result per item, in order",
  })
  @ApiOkResponse({ type: DecryptBatchResponse })
  async decryptBatch(
    @Caller() caller: string,
    @Body() request: DecryptBatchRequest,
  ): Promise<DecryptBatchResponse> {
    checkBatchSize(request.items);
    const results = await transitBatch(caller, request.items, 'plaintext', (bound) =>
      this.kms.decryptMany(
        bound.map(({ item, aad }) => ({ envelope: item.envelope, aad })),
        { actor: caller },
      ),
    );
    return { results };
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
