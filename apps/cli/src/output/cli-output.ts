/** A stream the CLI writes to; `isTTY` decides between a progress bar and progress lines. */
export interface OutputStream {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

/**
 * stdout carries only the command's result (a value, a table, JSON); notices, progress and
 * errors go to stderr, so `$(nest-kms secrets get NAME)` and `--json | jq` stay clean.
 */
export class CliOutput {
  constructor(
    readonly stdout: OutputStream,
    readonly stderr: OutputStream,
  ) {}

  /** One line of the result. */
  line(text = ''): void {
    this.stdout.write(`${text}\n`);
  }

  /** The result exactly as given (a secret value: no newline added to a pipe). */
  raw(text: string): void {
    this.stdout.write(text);
  }

  /** The result as JSON, for scripts (`--json`). */
  json(value: unknown): void {
    this.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  }

  /** A notice for the operator, beside the result. */
  note(text: string): void {
    this.stderr.write(`nest-kms: ${text}\n`);
  }

  /** Rows as aligned columns; the last column is not padded. */
  table(header: readonly string[], rows: readonly (readonly string[])[]): void {
    const widths = header.map((title, column) =>
      Math.max(title.length, ...rows.map((row) => row[column].length)),
    );
    for (const row of [header, ...rows]) {
      this.line(
        row
          .map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column])))
          .join('  '),
      );
    }
  }

  /** `label  value` lines with the labels aligned. */
  fields(entries: readonly [string, string][]): void {
    const width = Math.max(...entries.map(([label]) => label.length));
    for (const [label, value] of entries) this.line(`${label.padEnd(width)}  ${value}`);
  }
}
