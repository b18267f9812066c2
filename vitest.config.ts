import { configDefaults, defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * Suites that take minutes on a two-core machine (measured per file with `--reporter=json`):
 * they run in `npm test` and CI, and on their own with `npm run test:slow`, but not in the
 * inner loop (`test:unit`) or `test:e2e`.
 */
const SLOW = [
  // SIGKILL trials of key rotation and re-encryption (CRASH_TRIALS per phase).
  'test/kms-crash.e2e-spec.ts',
  // Property-based envelope parsing and round trips (FUZZ_RUNS).
  'libs/kms/src/envelope/envelope-fuzz.spec.ts',
  // Packs the packages and installs them into a new application outside the repository.
  'test/packaging.e2e-spec.ts',
];

/**
 * The slow files start first. Vitest orders files project by project, by name (e2e, slow,
 * unit), so the longest files would start last and the run would end on them alone.
 */
class SlowFilesFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const slow = (file: TestSpecification) => file.project.name === 'slow';
    return [...sorted.filter(slow), ...sorted.filter((file) => !slow(file))];
  }
}

export default defineConfig({
  // Every project extends this root config, so each resolves the tsconfig paths (@nest-kms/*).
  resolve: { tsconfigPaths: true },
  test: {
    globals: true,
    root: './',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Vitest's default on two cores is one worker; most e2e time is waiting on Postgres, child
    // processes and timers, so three files at a time take two thirds of the wall time. Four
    // made the machine the bottleneck (load 8, slower overall).
    maxWorkers: 3,
    sequence: { sequencer: SlowFilesFirst },
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['libs/**/*.spec.ts', 'apps/**/*.spec.ts'],
          // Pure specs leave no state behind, so the files of a worker share their imports
          // (Nest, TypeORM, the libraries): the project runs in a third of the time.
          isolate: false,
          exclude: [...configDefaults.exclude, ...SLOW],
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['test/**/*.e2e-spec.ts'],
          exclude: [...configDefaults.exclude, ...SLOW],
        },
      },
      {
        extends: true,
        test: {
          name: 'slow',
          include: SLOW,
        },
      },
    ],
  },
});
