import { availableParallelism, cpus, loadavg, platform, release, totalmem } from 'node:os';

/** A positive integer from the environment (BENCH_ROUNDS and the like), else `fallback`. */
export function positiveInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new Error(`${name} must be a positive integer (got "${raw}")`);
  }
  return value;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

export function formatOps(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

/** The machine a run was measured on, then the bench's own lines. */
export function printMachine(...lines: string[]): void {
  const cpuList = cpus();
  const [load1, load5] = loadavg();
  process.stdout.write(
    [
      `node ${process.version} (V8 ${process.versions.v8}, OpenSSL ${process.versions.openssl})`,
      `cpu: ${cpuList[0]?.model ?? 'unknown'}, ${cpuList.length} logical cores (available parallelism ${availableParallelism()})`,
      `os: ${platform()} ${release()}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, load average ${load1.toFixed(2)} / ${load5.toFixed(2)} (1 / 5 min)`,
      ...lines,
      '',
    ].join('\n'),
  );
}
