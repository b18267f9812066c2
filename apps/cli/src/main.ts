#!/usr/bin/env node
import { runCli } from './cli.js';

const exitCode = await runCli({
  argv: process.argv.slice(2),
  env: process.env,
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
});

// Exit once the output has reached the pipes: a database client left open after a failed
// start-up (Nest keeps no handle to close it) must not keep the process alive.
const drained = (stream: NodeJS.WriteStream) =>
  new Promise<void>((resolve) => stream.write('', () => resolve()));
await Promise.all([drained(process.stdout), drained(process.stderr)]);
process.exit(exitCode);
