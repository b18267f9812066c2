import type { ActorBlock, ThreatDetection, ThreatsService } from '@nest-kms/threat-detection';
import type { CliCommand, CommandContext } from '../cli-command.interface.js';
import { usageError } from '../cli-errors.js';
import { flag, integerOption, JSON_OPTION, stringOption } from '../cli-options.js';

/** Most detections one `threats list` shows (the library's bound). */
const MAX_DETECTIONS = 1_000;

const threatsList: CliCommand = {
  path: ['threats', 'list'],
  summary: 'recent detections, newest first: rule, severity, actor, subject, window counts',
  details: [
    "What the applications' detector recorded (the CLI does not run it). Never a value.",
    'With --json the detections as the library lists them (times in epoch milliseconds).',
  ],
  options: {
    ...JSON_OPTION,
    limit: {
      type: 'string',
      value: 'N',
      description: `at most N detections, 1 to ${MAX_DETECTIONS} (default 50)`,
    },
    since: {
      type: 'string',
      value: 'TIME',
      description: 'only those recorded at or after TIME (ISO 8601, e.g. 2026-01-31T08:00:00Z)',
    },
  },
  store: true,
  threatDetection: true,
  async run(context) {
    const { out } = context;
    const limit = integerOption(context, 'limit', 1);
    if (limit !== undefined && limit > MAX_DETECTIONS) {
      throw usageError(`--limit takes a whole number from 1 to ${MAX_DETECTIONS}`);
    }
    const since = timeOption(context, 'since');
    const detections = await (await threatsOf(context)).listDetections({ limit, since });
    if (flag(context, 'json')) return out.json(detections);
    if (detections.length === 0) return out.note('no detections');
    out.table(
      ['DETECTED', 'RULE', 'SEVERITY', 'ACTOR', 'SUBJECT', 'COUNTS'],
      detections.map((detection) => [
        new Date(detection.detectedAt).toISOString(),
        detection.rule,
        detection.severity,
        detection.actor ?? '-',
        detection.subject ?? '-',
        counts(detection),
      ]),
    );
  },
};

const threatsBlocks: CliCommand = {
  path: ['threats', 'blocks'],
  summary: 'the actors refused now, until when, and why (a rule or "operator")',
  options: JSON_OPTION,
  store: true,
  threatDetection: true,
  async run(context) {
    const { out } = context;
    const blocks = await (await threatsOf(context)).listBlocks();
    if (flag(context, 'json')) return out.json(blocks);
    if (blocks.length === 0) return out.note('no actors blocked');
    out.table(
      ['ACTOR', 'UNTIL', 'REASON', 'SINCE'],
      blocks.map((block) => [
        block.actor,
        new Date(block.until).toISOString(),
        block.reason,
        new Date(block.createdAt).toISOString(),
      ]),
    );
  },
};

const threatsBlock: CliCommand = {
  path: ['threats', 'block'],
  operands: ['ACTOR'],
  summary: "refuse an actor's secret reads and decryptions on every replica, for a while",
  details: [
    'Replicas apply it at their next detector pass (threat detection intervalMs). Recorded in',
    'the audit trail as the operator\'s decision; "threats unblock" lifts it.',
  ],
  options: {
    minutes: {
      type: 'string',
      value: 'N',
      description: "how long (default: the library's response blockDurationMs, 15 minutes)",
    },
    ...JSON_OPTION,
  },
  store: true,
  threatDetection: true,
  async run(context) {
    const minutes = integerOption(context, 'minutes', 1);
    const actor = context.operands[0];
    const threats = await threatsOf(context);
    const block =
      minutes === undefined
        ? await threats.blockActor(actor)
        : await threats.blockActor(actor, minutes * 60_000);
    if (flag(context, 'json')) return context.out.json(block);
    context.out.line(`blocked ${describeBlock(block)}`);
  },
};

const threatsUnblock: CliCommand = {
  path: ['threats', 'unblock'],
  operands: ['ACTOR'],
  summary: "lift an actor's block on every replica (an actor not blocked: a notice, exit 0)",
  options: JSON_OPTION,
  store: true,
  threatDetection: true,
  async run(context) {
    const actor = context.operands[0];
    const unblocked = await (await threatsOf(context)).unblockActor(actor);
    if (flag(context, 'json')) return context.out.json({ actor, unblocked });
    if (unblocked) context.out.line(`unblocked ${actor}`);
    else context.out.note(`${actor} was not blocked; nothing to lift`);
  },
};

async function threatsOf(context: CommandContext): Promise<ThreatsService> {
  const { threats } = await context.store();
  if (threats === null)
    throw new Error('threat detection is opened only for threatDetection commands');
  return threats;
}

/** An ISO 8601 time as epoch milliseconds, or undefined when the option is absent. */
function timeOption(context: CommandContext, name: string): number | undefined {
  const text = stringOption(context, name);
  if (text === undefined) return undefined;
  const time = /^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(text)
    ? Date.parse(text)
    : Number.NaN;
  if (Number.isNaN(time)) {
    throw usageError(`--${name} takes an ISO 8601 time such as 2026-01-31T08:00:00Z`);
  }
  return time;
}

function counts(detection: ThreatDetection): string {
  return Object.entries(detection.counts)
    .map(([name, count]) => `${name}=${count}`)
    .join(',');
}

function describeBlock(block: ActorBlock): string {
  return (
    `${block.actor} until ${new Date(block.until).toISOString()}; ` +
    `lift it with: nest-kms threats unblock ${block.actor}`
  );
}

export const threatsCommands: readonly CliCommand[] = [
  threatsList,
  threatsBlocks,
  threatsBlock,
  threatsUnblock,
];
