/**
 * `@nest-kms/kms/testing`: for an application's own tests.
 *
 * ```ts
 * imports: [KmsModule.forRoot(kmsTestingOptions())]
 * ```
 */
export { kmsTestingOptions } from './testing/kms-testing-options.js';
