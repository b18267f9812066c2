// Checks the API report of every package entry point against the built declarations, or with
// --update rewrites the reports. One API Extractor config per entry point, found as
// libs/*/api-extractor*.json and apps/*/api-extractor*.json; its report is <package>/etc/*.api.md.
// The reports are the public API as reviewed: a change to an export shows as a diff of them.
//   npm run build:packages && node scripts/api-report.mjs [--update]
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Extractor, ExtractorConfig, ExtractorLogLevel } from '@microsoft/api-extractor';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CONFIG_FILE = /^api-extractor(\.[a-z0-9-]+)?\.json$/;

// API Extractor's own words for a report that differs; this script says it once, its own way.
const REPORT_MESSAGES = new Set([
  'console-api-report-not-copied',
  'console-api-report-copied',
  'console-api-report-created',
  'console-api-report-diff',
]);

const args = process.argv.slice(2);
const unknown = args.filter((arg) => arg !== '--update');
if (unknown.length > 0) {
  console.error(`api-report: unknown argument ${unknown[0]}; usage: api-report.mjs [--update]`);
  process.exit(2);
}
const update = args.includes('--update');

const configs = ['libs', 'apps'].flatMap((folder) =>
  readdirSync(join(ROOT, folder), { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .flatMap((entry) =>
      readdirSync(join(ROOT, folder, entry.name))
        .filter((file) => CONFIG_FILE.test(file))
        .sort()
        .map((file) => join(ROOT, folder, entry.name, file)),
    ),
);

let failed = false;
for (const configFile of configs) {
  const config = ExtractorConfig.loadFileAndPrepare(configFile);
  const entryPoint = relative(ROOT, config.mainEntryPointFilePath);
  const reports = config.reportConfigs.map((report) =>
    relative(ROOT, join(config.reportFolder, report.fileName)),
  );
  // The import it reports on: `@nest-kms/kms`, `@nest-kms/kms/testing`, ...
  const entryName = basename(config.mainEntryPointFilePath, '.d.ts');
  const face = `${config.packageJson?.name}${entryName === 'index' ? '' : `/${entryName}`}`;
  const label = `${face} (${relative(ROOT, configFile)})`;
  if (!existsSync(config.mainEntryPointFilePath)) {
    console.error(`api-report: ${entryPoint} is missing: run npm run build:packages first`);
    process.exit(2);
  }
  if (update) mkdirSync(config.reportFolder, { recursive: true });

  const diffs = [];
  const result = Extractor.invoke(config, {
    localBuild: update,
    printApiReportDiff: !update,
    messageCallback: (message) => {
      if (REPORT_MESSAGES.has(message.messageId)) {
        if (message.messageId === 'console-api-report-diff') diffs.push(message.text);
        message.logLevel = ExtractorLogLevel.None;
        message.handled = true;
      } else if (
        message.logLevel === ExtractorLogLevel.Info ||
        message.logLevel === ExtractorLogLevel.Verbose
      ) {
        message.handled = true;
      }
    },
  });

  if (result.errorCount > 0 || result.warningCount > 0) {
    console.error(
      `api-report: ${label}: ${count(result.errorCount, 'error')}, ${count(result.warningCount, 'warning')} (above)`,
    );
    failed = true;
  }
  if (result.apiReportChanged && update) {
    console.log(`api-report: updated ${reports.join(', ')}: review the diff and commit it`);
  } else if (result.apiReportChanged) {
    for (const diff of diffs) console.error(diff);
    console.error(
      `api-report: the public API of ${face} changed: review ${reports.join(', ')} and run npm run api:update`,
    );
    failed = true;
  } else {
    console.log(`api-report: ${reports.join(', ')} up to date`);
  }
}
process.exit(failed ? 1 : 0);

function count(n, noun) {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
