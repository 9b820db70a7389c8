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
 * its write) gets a new doorbell. Cost: one index Query per shard page when nothing is due, and one
 * read of each account's backlog state that has a due doorbell.
 */
export async function sweepDoorbells(state: Pick<BacklogStateStore, 'sweep'>, options: { overdueAfterSeconds: number; now?: () => Date }): Promise<SweepReport> {
  const now = (options.now ?? (() => new Date()))().getTime();
  const accounts = await state.sweep(now, options.overdueAfterSeconds * 1000);
  const oldest = Math.min(now, ...accounts.map((a) => a.oldestDue ?? now));
  return {
    due: accounts.reduce((sum, a) => sum + a.due, 0),
    rungAgain: accounts.reduce((sum, a) => sum + a.rungAgain, 0),
    oldestDueSeconds: Math.floor((now - oldest) / 1000),
  };
}
