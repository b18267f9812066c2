import { mkdirSync, mkdtempSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import {
  DOCUMENTED_EXAMPLES_AT_LEAST,
  REPOSITORY_ROOT,
  documentedExamples,
  exampleFileName,
  type DocumentedExample,
} from './support/documented-examples.js';

/** Where the examples are written: inside the repository, so they resolve its node_modules. */
const SCRATCH_PARENT = join(REPOSITORY_ROOT, 'test', '.documented-examples-tmp');

const examples = documentedExamples();
let scratch: string;

beforeAll(() => {
  mkdirSync(SCRATCH_PARENT, { recursive: true });
  scratch = mkdtempSync(join(SCRATCH_PARENT, 'run-'));
});

afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
  try {
    rmdirSync(SCRATCH_PARENT);
  } catch {
    // Another run of this suite is still writing its examples there.
  }
});

it('finds every documented TypeScript example', () => {
  expect(examples.length).toBeGreaterThanOrEqual(DOCUMENTED_EXAMPLES_AT_LEAST);
});

it('compiles every documented TypeScript example as a complete file, strict, in one program', () => {
  const written = new Map<string, DocumentedExample>();
  for (const example of examples) {
    const path = join(scratch, exampleFileName(example));
    writeFileSync(path, example.code);
    written.set(path, example);
  }
  const program = ts.createProgram({ rootNames: [...written.keys()], options: compilerOptions() });

  const problems = [...program.getOptionsDiagnostics(), ...program.getGlobalDiagnostics()].map(
    (diagnostic) => `tsconfig.json: ${diagnosticText(diagnostic)}`,
  );
  for (const [path, example] of written) {
    const source = program.getSourceFile(path)!;
    const found = [
      ...program.getSyntacticDiagnostics(source),
      ...program.getSemanticDiagnostics(source),
    ].map((diagnostic) => ({ start: diagnostic.start ?? 0, problem: diagnosticText(diagnostic) }));
    found.push(...incompleteParts(source));
    found.sort((a, b) => a.start - b.start);
    problems.push(...found.map(({ start, problem }) => `${at(example, source, start)} ${problem}`));
  }
  expect(problems).toEqual([]);
}, 300_000);

/** The repository's compiler options (strict, nodenext, `paths` to the libraries' sources), no output. */
function compilerOptions(): ts.CompilerOptions {
  const parsed = ts.getParsedCommandLineOfConfigFile(
    join(REPOSITORY_ROOT, 'tsconfig.json'),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (diagnostic) => fail(diagnosticText(diagnostic)),
    },
  )!;
  return {
    ...parsed.options,
    noEmit: true,
    incremental: false,
    composite: false,
    tsBuildInfoFile: undefined,
    declaration: false,
    sourceMap: false,
  };
}

/**
 * What compiles but is not a file a reader can copy: a list of expressions at the top level
 * (`TypeOrmModule.forRoot(…), KmsModule.forRoot(…),`) and imports by relative path (into libs/),
 * which an application cannot make.
 */
function incompleteParts(source: ts.SourceFile): { start: number; problem: string }[] {
  const parts: { start: number; problem: string }[] = [];
  for (const statement of source.statements) {
    const start = statement.getStart(source);
    if (
      ts.isExpressionStatement(statement) &&
      ts.isBinaryExpression(statement.expression) &&
      statement.expression.operatorToken.kind === ts.SyntaxKind.CommaToken
    ) {
      parts.push({ start, problem: 'a list of expressions, not a statement of a file' });
    }
    if (
      (ts.isImportDeclaration(statement) || ts.isExportDeclaration(statement)) &&
      statement.moduleSpecifier &&
      ts.isStringLiteral(statement.moduleSpecifier) &&
      statement.moduleSpecifier.text.startsWith('.')
    ) {
      const path = statement.moduleSpecifier.text;
      parts.push({ start, problem: `imports '${path}': an application imports packages` });
    }
  }
  return parts;
}

/** `file.md:line:column` of a position in an example. */
function at(example: DocumentedExample, source: ts.SourceFile, start: number): string {
  const { line, character } = source.getLineAndCharacterOfPosition(start);
  return `${example.file}:${example.line + line}:${character + 1}`;
}

function diagnosticText(diagnostic: ts.Diagnostic): string {
  return `TS${diagnostic.code}: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')}`;
}

function fail(message: string): never {
  throw new Error(`tsconfig.json: ${message}`);
}
