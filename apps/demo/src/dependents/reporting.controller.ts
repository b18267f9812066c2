import { Controller, Get, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ConfigCredentialsRejectedError } from '@nest-kms/config';
import { AdminTokenGuard } from '../auth/admin-token.guard.js';
import { ApiError } from '../http/api-error.js';
import { ReportingDatabase } from './reporting-database.js';
import { ReportingNotConfiguredError } from './reporting-not-configured.error.js';

/** Whether the reporting database answers, with the role it is reached as. */
@ApiTags('reporting')
@ApiBearerAuth()
@UseGuards(AdminTokenGuard)
@Controller('reporting')
export class ReportingController {
  constructor(private readonly database: ReportingDatabase) {}

  @Get('status')
  @ApiOperation({ summary: 'Queries the reporting database (its password is a rotating secret)' })
  async status(): Promise<{ database: 'up'; user: string }> {
    try {
      const [row] = await this.database.query<{ user: string }>('SELECT current_user AS "user"');
      return { database: 'up', user: row.user };
    } catch (error) {
      if (error instanceof ReportingNotConfiguredError) {
        throw new ApiError(404, error.code, error.message);
      }
      if (error instanceof ConfigCredentialsRejectedError) {
        throw new ApiError(503, error.code, error.message, { reason: error.reason });
      }
      throw error;
    }
  }
}
