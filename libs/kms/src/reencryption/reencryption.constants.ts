/**
 * The rewrap thread's entry (a path or file URL of compiled JavaScript); the default is the
 * one compiled beside the job. Tests running the TypeScript sources
 * provide a bundle of it (a registered symbol: they reach it without the library's internals).
 */
export const REWRAP_WORKER_ENTRY = Symbol.for('nest-kms:rewrap-worker-entry');
