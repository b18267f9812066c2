/**
 * Name of the periodic check KmsModule registers in the SchedulerRegistry (the application's,
 * when it imports ScheduleModule.forRoot()) that rotates the active data key when due.
 */
export const KMS_DATA_KEY_ROTATION_JOB = 'nest-kms.data-key-rotation';
/**
 * Name of the periodic re-encryption of envelopes under retired keys (`reencryption.auto`) in
 * the SchedulerRegistry.
 */
export const KMS_REENCRYPTION_JOB = 'nest-kms.reencryption';
