import type { DeadLetterRecord } from './observe';
import type { ScenarioContext } from './scenario-run';

/**
 * The verdict on one scenario: what the oracle saw (every event sent and acknowledged, against
 * what the store and the DLQ hold at the end) and each target, met or missed, with the evidence.
 */

export interface Check {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

export interface ScenarioOutcome {
  readonly name: string;
  readonly summary: string;
  readonly pass: boolean;
  readonly seconds: number;
  readonly sent: number;
  readonly acked: number;
  readonly unavailable: number;
  readonly connectionErrors: number;
  readonly timeouts: number;
  readonly otherStatuses: Record<string, number>;
  readonly gaveUp: number;
  readonly ackedLost: number;
  /** Client sequence numbers held by more than one stored document. */
  readonly storedDups: number;
  readonly unackedPresent: number;
  readonly dlq: number;
  readonly ackedInDlq: number;
  readonly drainSeconds: number | null;
  readonly recoveries: ReadonlyArray<{
    fault: string;
    firstCommitSeconds: number | null;
    stalledSeconds: number | null;
  }>;
  readonly recoveryBoundSeconds: number;
  readonly ackedDuringOutage: number;
  readonly committedAtEnd: boolean;
  readonly unexpectedExits: string[];
  readonly checks: Check[];
  readonly notes: string[];
  readonly lostSample: string[];
  readonly logDir: string;
  /** Per sample: seconds since the load started, and each partition's lag (end − committed). */
  readonly lagTimeline: Array<[number, number[]]>;
}

export function judge(
  ctx: ScenarioContext,
  run: {
    started: number;
    failure: Error | undefined;
    drainSeconds: number | null;
    committedAtEnd: boolean;
    stored: Map<number, number>;
    dlq: DeadLetterRecord[];
    logDir: string;
  },
): ScenarioOutcome {
  const { scenario } = ctx;
  const events = ctx.load?.events ?? [];
  const counts = ctx.load?.counts;
  const dlqSeqs = new Set<number>();
  for (const record of run.dlq) {
    const seq = /"chaosSeq":(\d+)/.exec(record.value)?.[1];
    if (seq !== undefined) dlqSeqs.add(Number(seq));
  }
  const lost = events.filter((event) => event.acked && !run.stored.has(event.seq) && !dlqSeqs.has(event.seq));
  const ackedInDlq = events.filter((event) => event.acked && dlqSeqs.has(event.seq)).length;
  const storedDups = [...run.stored.values()].filter((n) => n > 1).length;
  const unackedPresent = events.filter((event) => !event.acked && run.stored.has(event.seq)).length;
  const ackedDuringOutage = (ctx.load?.attempts ?? []).filter(
    (attempt) =>
      attempt.outcome === 202 && ctx.outages.some((o) => attempt.sentAt >= o.from && attempt.answeredAt <= o.to),
  ).length;
  const recoveries = ctx.faults.map((fault, index) => {
    const { first, worst } = ctx.monitor.recovery(fault, ctx.faults[index + 1]?.at);
    return { fault: fault.name, firstCommitSeconds: first, stalledSeconds: worst };
  });
  const unexpectedExits = ctx.services
    .filter((service) => service.exit !== undefined && !service.exit.expected)
    .map((service) => `${service.name} exited by itself (${service.exit?.code})`);

  const checks: Check[] = [
    {
      name: 'acked_lost = 0',
      ok: lost.length === 0,
      detail: `${lost.length} acknowledged events neither stored nor dead-lettered`,
    },
    {
      name: 'stored_dups = 0',
      ok: storedDups === 0,
      detail: `${storedDups} client sequence numbers stored more than once`,
    },
    {
      name: 'drained',
      ok: run.drainSeconds !== null,
      detail:
        run.drainSeconds === null
          ? `not drained within ${scenario.drainTimeoutSeconds ?? 90} s (committed at end: ${run.committedAtEnd})`
          : `${run.drainSeconds.toFixed(1)} s`,
    },
    {
      name: `recovers within ${scenario.recoveryBoundSeconds} s`,
      ok: recoveries.every((r) => r.stalledSeconds !== null && r.stalledSeconds <= scenario.recoveryBoundSeconds),
      detail: recoveries
        .map((r) => `${r.fault}: ${r.stalledSeconds === null ? 'never' : `${r.stalledSeconds.toFixed(1)} s`}`)
        .join('; '),
    },
    { name: 'no 202 while Kafka was down', ok: ackedDuringOutage === 0, detail: `${ackedDuringOutage} answered 202` },
    {
      name: 'no service exited by itself',
      ok: unexpectedExits.length === 0,
      detail: unexpectedExits.join('; ') || 'none',
    },
    {
      name: 'only 202/503 answers',
      ok: (counts?.otherStatuses ?? 0) === 0,
      detail: JSON.stringify(counts?.statuses ?? {}),
    },
    ...ctx.checks,
  ];
  if (run.failure !== undefined) {
    checks.push({ name: 'scenario ran to the end', ok: false, detail: run.failure.message });
  }
  return {
    name: scenario.name,
    summary: scenario.summary,
    pass: checks.every((check) => check.ok),
    seconds: Math.round((Date.now() - run.started) / 1000),
    sent: events.length,
    acked: events.filter((event) => event.acked).length,
    unavailable: counts?.unavailable ?? 0,
    connectionErrors: counts?.connectionErrors ?? 0,
    timeouts: counts?.timeouts ?? 0,
    otherStatuses: Object.fromEntries(
      Object.entries(counts?.statuses ?? {}).filter(([status]) => status !== '202' && status !== '503'),
    ),
    gaveUp: counts?.gaveUp ?? 0,
    ackedLost: lost.length,
    storedDups,
    unackedPresent,
    dlq: run.dlq.length,
    ackedInDlq,
    drainSeconds: run.drainSeconds,
    recoveries,
    recoveryBoundSeconds: scenario.recoveryBoundSeconds,
    ackedDuringOutage,
    committedAtEnd: run.committedAtEnd,
    unexpectedExits,
    checks,
    notes: ctx.notes,
    lostSample: lost
      .slice(0, 10)
      .map((event) => `${event.eventId} (user ${event.userId}, partition ${event.partition})`),
    logDir: run.logDir,
    lagTimeline: ctx.monitor.samples.map((sample) => [
      Math.round((sample.at - ctx.loadStartedAt) / 100) / 10,
      sample.end.map((end, partition) => end - (sample.committed[partition] ?? 0)),
    ]),
  };
}
