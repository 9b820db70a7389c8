import type { BacklogStateStore } from './backlog';

export interface SweepReport {
  /** Webhooks whose backlog's head is due now. */
  readonly due: number;
  /** Of those, doorbells overdue and rung again. */
  readonly rungAgain: number;
  /** How long the most overdue doorbell has been waiting (0 when none is due). */
  readonly oldestDueSeconds: number;
}

/**
 * The scheduled safety net: every webhook whose backlog has due work but whose doorbell was not
 * answered within `overdueAfterSeconds` (the message was lost, a drain crashed, a ring failed after
 * its write) gets a new doorbell. Cost: one index Query per shard page when nothing is due.
 */
export async function sweepDoorbells(state: BacklogStateStore, options: { overdueAfterSeconds: number; now?: () => Date }): Promise<SweepReport> {
  const now = (options.now ?? (() => new Date()))().getTime();
  const due = await state.dueDoorbells(new Date(now).toISOString());
  const cutoff = now - options.overdueAfterSeconds * 1000;
  let rungAgain = 0;
  for (const doorbell of due) {
    if (Date.parse(doorbell.wakeAt) <= cutoff && (await state.ringAgain(doorbell))) rungAgain++;
  }
  const oldestWake = Math.min(now, ...due.map((d) => Date.parse(d.wakeAt)));
  return { due: due.length, rungAgain, oldestDueSeconds: Math.floor((now - oldestWake) / 1000) };
}
