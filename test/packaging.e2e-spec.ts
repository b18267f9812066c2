import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  createTestDatabase,
  databaseEnv,
  ENGINES,
  type TestDatabase,
} from './support/databases.js';
import {
  DOCUMENTED_EXAMPLES_AT_LEAST,
  documentedExamples,
  exampleFileName,
} from './support/documented-examples.js';
import {
  packPackages,
  compileScratchApp,
  installScratchApp,
  PUBLISHED_PACKAGES,
  type AppFlavor,
  type PackedPackage,
} from './support/scratch-app.js';
import type { ScratchReport } from './fixtures/scratch-app/src/app.module.js';
import { FakeAwsKms } from './support/fake-aws-kms.js';

/*
 * What a user of a new Nest 12 application gets from `npm i @nest-kms/...`: the packed
 * tarballs, checked as npm and TypeScript see them, installed outside the repository beside the
 * peers from the registry, compiled under Nest 12's own strict tsconfig (the ESM template and
 * `nest new`'s CommonJS one), and run on SQLite and Postgres.
 */

const run = promisify(execFile);

/** Every tarball is built from these and holds nothing else. */
const PACKAGE_FILE =
  /^(package\.json|README\.md|CHANGELOG\.md|LICENSE|dist\/.+\.(js|d\.ts|js\.map))$/;
const NEVER_PACKED =
  /(\.spec\.|fixtures|(^|\/)\.env(\.|$)|\.key$|\.pem$|\.tsbuildinfo$|(^|\/)src\/)/;

/**
 * The Nest 11 release a CommonJS app of that generation runs. @nestjs/typeorm, /schedule and
 * /config 12 support Nest 11, so such an app takes those at 12 (the packages' peers).
 */
const NEST_11 = '11.2.12';

let scratch: string;
let packed: PackedPackage[];
let aws: FakeAwsKms;

beforeAll(async () => {
  aws = await FakeAwsKms.start();
  scratch = mkdtempSync(join(tmpdir(), 'nest-kms-scratch-app-'));
  packed = await packPackages(scratch);
  await Promise.all([
    installScratchApp(join(scratch, 'nest-12'), packed, {
      flavors: ['module', 'commonjs'],
      forExamples: true,
    }),
    installScratchApp(join(scratch, 'nest-11'), packed, {
      flavors: ['commonjs'],
      versions: { '@nestjs/common': NEST_11, '@nestjs/core': NEST_11 },
    }),
  ]);
}, 600_000);

afterAll(async () => {
  await aws?.close();
  // Three scratch applications' node_modules: on a loaded machine, longer than the default.
  if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true });
}, 180_000);

describe('the tarballs', () => {
  it('are one per published package, each with its README, CHANGELOG and build only', () => {
    expect(packed.map((pack) => pack.name).sort()).toEqual([...PUBLISHED_PACKAGES].sort());
    for (const pack of packed) {
      expect(pack.files, pack.name).toEqual(
        expect.arrayContaining(['package.json', 'README.md', 'CHANGELOG.md']),
      );
      expect(
        pack.files.filter((file) => !PACKAGE_FILE.test(file)),
        pack.name,
      ).toEqual([]);
      expect(
        pack.files.filter((file) => NEVER_PACKED.test(file)),
        pack.name,
      ).toEqual([]);
    }
  });

  it('carry source maps whose sources are inlined, pointing nowhere outside the package', () => {
    for (const pack of packed) {
      const maps = pack.files.filter((file) => file.endsWith('.js.map'));
      expect(maps.length, pack.name).toBeGreaterThan(0);
      for (const file of maps) {
        const map = JSON.parse(readFileSync(join(pack.folder, file), 'utf8')) as {
          sources: string[];
          sourcesContent?: (string | null)[];
        };
        const where = `${pack.name}/${file}`;
        expect(map.sourcesContent?.length, where).toBe(map.sources.length);
        expect(
          map.sourcesContent?.every((content) => typeof content === 'string'),
          where,
        ).toBe(true);
        const depth = file.split('/').length - 1;
        for (const source of map.sources) {
          const upward = source.split('/').filter((part) => part === '..').length;
          expect(upward, `${where}: ${source}`).toBeLessThanOrEqual(depth);
        }
      }
    }
  });

  it('pass publint with no error or warning', async () => {
    for (const pack of packed) {
      const { stdout } = await run(process.execPath, [
        bin('publint'),
        'run',
        pack.tarball,
        '--level',
        'warning',
        '--strict',
      ]);
      expect(stdout, pack.name).toContain('All good!');
    }
  });

  /*
   * Nest 12 applications resolve with nodenext, so node10 resolution (which ignores the exports
   * map) is out of scope. CommonJS resolving to ESM is no problem on the Node versions the
   * packages support (require of ESM, Node >= 20.19) nor for TypeScript >= 5.8 under nodenext,
   * as the CommonJS scratch app below proves; attw's bundled TypeScript predates both.
   */
  it('pass are-the-types-wrong for applications resolving with node16/nodenext', async () => {
    for (const pack of packed.filter((candidate) => candidate.name !== '@nest-kms/cli')) {
      const report = await run(process.execPath, [
        bin('@arethetypeswrong/cli', 'attw'),
        pack.tarball,
        '--format',
        'json',
      ]).then(
        ({ stdout }) => stdout,
        (error: { stdout: string }) => error.stdout,
      );
      const { problems } = (JSON.parse(report) as { analysis: { problems: AttwProblem[] } })
        .analysis;
      const relevant = problems.filter(
        (problem) => problem.resolutionKind !== 'node10' && problem.kind !== 'CJSResolvesToESM',
      );
      expect(relevant, pack.name).toEqual([]);
    }
    // One attw process per package, a few seconds each: seven packages outgrow the default.
  }, 180_000);
});

interface AttwProblem {
  readonly kind: string;
  readonly resolutionKind?: string;
  readonly entrypoint?: string;
}

describe('a new Nest 12 application', () => {
  const app = () => join(scratch, 'nest-12');

  beforeAll(() => {
    const examples = documentedExamples();
    expect(examples.length).toBeGreaterThanOrEqual(DOCUMENTED_EXAMPLES_AT_LEAST);
    for (const example of examples) {
      const file = join(app(), 'module', 'src', `example-${exampleFileName(example)}`);
      writeFileSync(file, example.code);
    }
  });

  describeApplication(app, ['module', 'commonjs'], 'with every README and docs example as ESM');
});

describe('a Nest 11 application (CommonJS, require of the ESM packages)', () => {
  describeApplication(() => join(scratch, 'nest-11'), ['commonjs'], 'on Nest ' + NEST_11);
});

/**
 * The scratch app in `root()`, one folder per module system: compiled, the first with
 * skipLibCheck off (the packages' declarations must type-check under the app's settings too:
 * Nest's lib, strict), then run on each engine beside the installed CLI.
 */
function describeApplication(root: () => string, flavors: AppFlavor[], compiledWith: string) {
  const compiled = new Map<AppFlavor, string>();

  beforeAll(async () => {
    // The packages' declarations are ES modules whatever the app's module system, so checking
    // them (skipLibCheck off, the slow part) under the first flavor covers the others.
    for (const [index, flavor] of flavors.entries()) {
      const checkDeclarations = index === 0 ? ['--skipLibCheck', 'false'] : [];
      compiled.set(flavor, await compileScratchApp(join(root(), flavor), checkDeclarations));
    }
  }, 300_000);

  it.each(flavors)(`compiles as %s, ${compiledWith}, and the packages' declarations`, (flavor) => {
    // Errors inside other packages' declarations (with skipLibCheck off) are theirs.
    const ours = (compiled.get(flavor) ?? '')
      .split('\n')
      .filter((line) => /error TS/.test(line))
      .filter(
        (line) => !line.includes('node_modules/') || line.includes('node_modules/@nest-kms/'),
      );
    expect(ours).toEqual([]);
  });

  describe.each(ENGINES)('on %s', (engine) => {
    let database: TestDatabase;
    const masterKey = randomBytes(32).toString('base64');
    const paymentApiKey = `pk_test_${randomBytes(12).toString('hex')}`;
    const nestKms = (args: string[], stdin?: string) =>
      cli(root(), { ...databaseEnv(database), KMS_MASTER_KEY: masterKey }, args, stdin);

    beforeAll(async () => {
      database = await createTestDatabase(engine);
      const stored = await nestKms(['secrets', 'set', 'PAYMENT_API_KEY'], paymentApiKey);
      expect(stored.exitCode, stored.stderr).toBe(0);
    }, 120_000);

    afterAll(() => database?.drop());

    it.each(flavors)(
      'as %s: encrypts, reads a secret through @InjectSecret and config, seals a column',
      async (flavor) => {
        const folder = join(root(), flavor);
        const seedPhrase = `abandon ability able ${flavor} ${randomBytes(4).toString('hex')}`;
        const { stdout } = await run(process.execPath, [join(folder, 'dist/src/main.js')], {
          cwd: folder,
          env: { ...databaseEnv(database), KMS_MASTER_KEY: masterKey, SEED_PHRASE: seedPhrase },
        });
        const report = JSON.parse(stdout) as ScratchReport;
        expect(report).toEqual({
          envelopePrefix: 'kms1.',
          decrypted: 'hello from a new app',
          injectedSecret: paymentApiKey,
          configField: paymentApiKey,
          loadedSeedPhrase: seedPhrase,
          storedSeedPhrasePrefix: 'kms2.column.',
          storedSeedPhraseHoldsPlaintext: false,
        });
      },
      120_000,
    );

    it('the installed CLI uses an AWS KMS master key named in the environment (the provider package loaded by name)', async () => {
      const fresh = await createTestDatabase(engine);
      try {
        const env = {
          ...databaseEnv(fresh),
          KMS_MASTER_KEY_PROVIDER: 'aws-kms',
          KMS_AWS_KMS_KEY_ID: aws.keyArn,
          KMS_AWS_KMS_REGION: FakeAwsKms.PRIMARY_REGION,
          KMS_AWS_KMS_ENDPOINT: aws.endpoint,
          AWS_ACCESS_KEY_ID: 'AKIATEST',
          AWS_SECRET_ACCESS_KEY: randomBytes(30).toString('base64'),
        };
        const stored = await cli(root(), env, ['secrets', 'set', 'UNDER_AWS'], paymentApiKey);
        expect(stored.exitCode, stored.stderr).toBe(0);
        const status = await cli(root(), env, ['status', '--json']);
        expect(status.exitCode, status.stderr).toBe(0);
        expect(JSON.parse(status.stdout)).toMatchObject({
          masterKeyFingerprint: `aws-kms:${aws.keyArn}`,
        });
      } finally {
        await fresh.drop();
      }
    }, 120_000);

    it("the installed CLI's --help needs neither a key nor a database", async () => {
      const help = await cli(root(), {}, ['--help']);
      expect(help.exitCode, help.stderr).toBe(0);
      expect(help.stdout).toContain('usage: nest-kms <command> [options]');
    });

    it("the installed CLI's status reads the same keyring", async () => {
      const status = await nestKms(['status', '--json']);
      expect(status.exitCode, status.stderr).toBe(0);
      const report = JSON.parse(status.stdout) as {
        activeKeyId: string;
        secretsCount: number;
        dataKeys: { id: string; envelopes: number }[];
      };
      expect(report.secretsCount).toBe(1);
      const active = report.dataKeys.find((key) => key.id === report.activeKeyId);
      expect(active?.envelopes).toBeGreaterThanOrEqual(1);
      expect(status.stdout).not.toContain(paymentApiKey);
    }, 120_000);
  });
}

/** The `nest-kms` bin the scratch app in `root` installed, as its operator runs it. */
async function cli(
  root: string,
  env: Record<string, string>,
  args: string[],
  stdin = '',
): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const child = execFile(join(root, 'node_modules/.bin/nest-kms'), args, {
    cwd: root,
    env: { PATH: process.env.PATH, ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: string) => (stdout += chunk));
  child.stderr?.on('data', (chunk: string) => (stderr += chunk));
  child.stdin?.end(stdin);
  const exitCode = await new Promise<number>((resolve) =>
    child.on('close', (code) => resolve(code ?? -1)),
  );
  return { exitCode, stdout, stderr };
}

/** A command-line tool of this repository's devDependencies. */
function bin(name: string, command = name): string {
  const manifest = JSON.parse(readFileSync(join('node_modules', name, 'package.json'), 'utf8')) as {
    bin: string | Record<string, string>;
  };
  const path = typeof manifest.bin === 'string' ? manifest.bin : manifest.bin[command];
  return join('node_modules', name, path);
}
