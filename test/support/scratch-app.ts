import { execFile } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PROJECT_ROOT } from './child-process.js';

/*
 * The packages as a user gets them: built and packed from the workspaces, then installed from
 * their tarballs into a new Nest 12 application outside the repository, beside the peers from
 * the registry (test/packaging.e2e-spec.ts).
 */

const run = promisify(execFile);

/** The workspaces published to npm, in dependency order. */
export const PUBLISHED_PACKAGES = [
  '@nest-kms/kms',
  '@nest-kms/secrets',
  '@nest-kms/config',
  '@nest-kms/aws-kms',
  '@nest-kms/azure-key-vault',
  '@nest-kms/pkcs11',
  '@nest-kms/threat-detection',
  '@nest-kms/cli',
] as const;

export interface PackedPackage {
  readonly name: string;
  /** Absolute path of the .tgz. */
  readonly tarball: string;
  /** Paths inside the package (`package.json`, `dist/index.js`, ...). */
  readonly files: readonly string[];
  /** The workspace folder it was packed from. */
  readonly folder: string;
  readonly manifest: PackageManifest;
}

export interface PackageManifest {
  readonly name: string;
  readonly version: string;
  readonly peerDependencies?: Record<string, string>;
  readonly [field: string]: unknown;
}

/** Packs every package into `destination`; packing builds each first (its prepack, tsc -b). */
export async function packPackages(destination: string): Promise<PackedPackage[]> {
  const workspaces = PUBLISHED_PACKAGES.flatMap((name) => ['--workspace', name]);
  const { stdout } = await run(
    'npm',
    ['pack', '--json', '--pack-destination', destination, ...workspaces],
    { cwd: PROJECT_ROOT, maxBuffer: 64 * 1024 * 1024 },
  );
  const packs = JSON.parse(stdout) as {
    name: string;
    filename: string;
    files: { path: string }[];
  }[];
  const folders = workspaceFolders();
  return packs.map((pack) => {
    const folder = folders.get(pack.name)!;
    return {
      name: pack.name,
      tarball: join(destination, pack.filename),
      files: pack.files.map((file) => file.path),
      folder,
      manifest: readJson(join(folder, 'package.json')) as PackageManifest,
    };
  });
}

/** Module systems of a Nest app: `nest new` (CommonJS) and Nest 12's ESM template. */
export type AppFlavor = 'commonjs' | 'module';

export interface ScratchAppOptions {
  /** One folder per module system, each with its own package.json `type` and tsconfig. */
  readonly flavors: readonly AppFlavor[];
  /** Exact versions instead of this repository's (an older Nest, say). */
  readonly versions?: Readonly<Record<string, string>>;
  /** Also install what the documented examples import besides the libraries and their peers. */
  readonly forExamples?: boolean;
}

/**
 * A new application in `root`: a package.json naming the tarballs and every peer they declare
 * (at the version this repository installs, so the npm cache serves them, unless `versions`
 * says otherwise), installed with npm's defaults, and one folder per module system with Nest
 * 12's own tsconfig of a new app (strict) and the scratch app's sources.
 */
export async function installScratchApp(
  root: string,
  packed: readonly PackedPackage[],
  options: ScratchAppOptions,
): Promise<void> {
  const versionOf = (name: string) => options.versions?.[name] ?? installedVersion(name);
  const dependencies: Record<string, string> = {};
  for (const pack of packed) {
    for (const peer of Object.keys(pack.manifest.peerDependencies ?? {})) {
      dependencies[peer] = versionOf(peer);
    }
  }
  for (const pack of packed) dependencies[pack.name] = `file:${pack.tarball}`;
  const tools = ['@types/node', 'typescript'];
  if (options.forExamples) tools.push('@nestjs/testing', 'vitest');
  const devDependencies = Object.fromEntries(tools.map((name) => [name, versionOf(name)]));
  mkdirSync(root, { recursive: true });
  writeJson(join(root, 'package.json'), {
    name: 'scratch-app',
    private: true,
    dependencies,
    devDependencies,
  });
  await run('npm', ['install', '--prefer-offline', '--ignore-scripts', '--no-audit', '--no-fund'], {
    cwd: root,
    maxBuffer: 64 * 1024 * 1024,
  });
  // Install scripts are skipped: the only one that matters is better-sqlite3's node-gyp build,
  // a minute of compiling that tests the driver, not these packages. Its binary comes from this
  // repository's install of the same version, for the same Node.
  const binary = 'better-sqlite3/build/Release/better_sqlite3.node';
  mkdirSync(join(root, 'node_modules', binary, '..'), { recursive: true });
  copyFileSync(join(PROJECT_ROOT, 'node_modules', binary), join(root, 'node_modules', binary));
  for (const flavor of options.flavors) {
    const folder = join(root, flavor);
    mkdirSync(folder);
    writeJson(join(folder, 'package.json'), { name: `scratch-${flavor}`, type: flavor });
    writeJson(join(folder, 'tsconfig.json'), nestTemplateTsconfig(flavor));
    cpSync(join(PROJECT_ROOT, 'test/fixtures/scratch-app/src'), join(folder, 'src'), {
      recursive: true,
    });
  }
}

/**
 * `tsc` of one module system's folder (output in its dist/); resolves with tsc's output, errors
 * included: which of them matter is the caller's call.
 */
export async function compileScratchApp(folder: string, extraArgs: string[] = []): Promise<string> {
  const tsc = join(folder, '..', 'node_modules', 'typescript', 'bin', 'tsc');
  return run(process.execPath, [tsc, '-p', folder, '--pretty', 'false', ...extraArgs], {
    cwd: folder,
    maxBuffer: 64 * 1024 * 1024,
  }).then(
    ({ stdout }) => stdout,
    (error: { stdout?: string }) => {
      if (typeof error.stdout !== 'string') throw error;
      return error.stdout;
    },
  );
}

/**
 * Nest 12's tsconfig of a new application (@nestjs/schematics' `ts` and `ts-esm` templates),
 * strict, with the test runner's types left out (the scratch app has none).
 */
function nestTemplateTsconfig(flavor: AppFlavor): object {
  const template = flavor === 'module' ? 'ts-esm' : 'ts';
  const text = readFileSync(
    join(
      PROJECT_ROOT,
      'node_modules/@nestjs/schematics/dist/lib/application/files',
      template,
      'tsconfig.json',
    ),
    'utf8',
  ).replace('<%= strict %>', 'true');
  const config = JSON.parse(text) as { compilerOptions: Record<string, unknown> };
  config.compilerOptions.types = ['node'];
  return config;
}

/** The version of `name` in this repository's node_modules. */
function installedVersion(name: string): string {
  return (readJson(join(PROJECT_ROOT, 'node_modules', name, 'package.json')) as PackageManifest)
    .version;
}

function workspaceFolders(): Map<string, string> {
  const root = readJson(join(PROJECT_ROOT, 'package.json')) as { workspaces: string[] };
  return new Map(
    root.workspaces.map((workspace) => {
      const folder = join(PROJECT_ROOT, workspace);
      return [(readJson(join(folder, 'package.json')) as PackageManifest).name, folder];
    }),
  );
}

function readJson(path: string): unknown {
  return JSON.parse(readFileSync(path, 'utf8'));
}

function writeJson(path: string, value: unknown): void {
  writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`);
}
