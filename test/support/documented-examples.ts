import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's root directory. */
export const REPOSITORY_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * The ```ts blocks the documentation held when this floor was set. Fewer means an example was
 * lost or its fence changed language; raise the floor when examples are added.
 */
export const DOCUMENTED_EXAMPLES_AT_LEAST = 21;

/** One ```ts block of the documentation. */
export interface DocumentedExample {
  /** The Markdown file, relative to the repository root with `/` separators: `docs/cli.md`. */
  readonly file: string;
  /** The 1-based line of the block's first code line (the line after its opening fence). */
  readonly line: number;
  /** The block's code, its fence's indentation removed, ending with a newline. */
  readonly code: string;
}

/** Info strings of the fences whose blocks are TypeScript source. */
const TYPESCRIPT_FENCES = new Set(['ts', 'typescript', 'mts']);

/**
 * The Markdown files that document the project to its users: README.md, docs/*.md,
 * apps/demo/README.md and each library's README.md, relative to `root`, in a stable order.
 */
export function documentationFiles(root: string = REPOSITORY_ROOT): string[] {
  const files = ['README.md', 'apps/demo/README.md'];
  files.push(...markdownIn(root, 'docs'));
  for (const library of directoriesIn(root, 'libs')) files.push(`libs/${library}/README.md`);
  return files.filter((file) => existsSync(join(root, file)));
}

/** Every ```ts block of the documentation files, in file order then line order. */
export function documentedExamples(root: string = REPOSITORY_ROOT): DocumentedExample[] {
  return documentationFiles(root).flatMap((file) =>
    examplesIn(file, readFileSync(join(root, file), 'utf8')),
  );
}

/** A file name for an example, unique among them: `docs-cli-md-42.ts`. */
export function exampleFileName(example: DocumentedExample): string {
  return `${example.file.replace(/[^A-Za-z0-9]+/g, '-')}-${example.line}.ts`;
}

/**
 * The ```ts blocks of one Markdown text, by CommonMark's fence rules: a fence of three or more
 * backticks or tildes, indented at most three spaces past the enclosing list item, closed by a
 * fence of the same character at least as long, or by the end of the document.
 */
export function examplesIn(file: string, markdown: string): DocumentedExample[] {
  const lines = markdown.split(/\r?\n/);
  const examples: DocumentedExample[] = [];
  for (let at = 0; at < lines.length; at++) {
    const opening = /^(\s*)(`{3,}|~{3,})\s*([^`\s]*)/.exec(lines[at]);
    if (!opening) continue;
    const [, indent, fence, info] = opening;
    const closing = new RegExp(`^\\s*${fence[0]}{${fence.length},}\\s*$`);
    let end = at + 1;
    while (end < lines.length && !closing.test(lines[end])) end++;
    if (TYPESCRIPT_FENCES.has(info.toLowerCase())) {
      const body = lines.slice(at + 1, end).map((text) => unindent(text, indent.length));
      examples.push({ file, line: at + 2, code: `${body.join('\n')}\n` });
    }
    at = end;
  }
  return examples;
}

function unindent(text: string, width: number): string {
  const leading = /^ */.exec(text)![0].length;
  return text.slice(Math.min(leading, width));
}

function markdownIn(root: string, folder: string): string[] {
  if (!existsSync(join(root, folder))) return [];
  return readdirSync(join(root, folder), { withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.md'))
    .map((entry) => `${folder}/${entry.name}`)
    .sort();
}

function directoriesIn(root: string, folder: string): string[] {
  if (!existsSync(join(root, folder))) return [];
  return readdirSync(join(root, folder), { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
}
