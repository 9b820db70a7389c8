import { nextFlushAt } from '../../shared/batch/pending-store';

/** When `GET /webhooks/{id}` says the next batch flush is due. */
const at = (iso: string) => Date.parse(iso);

describe('the next batch flush', () => {
  it('follows the rate from the last recorded run', () => {
    const lastRun = { expression: 'rate(15 minutes)', firedAt: at('2026-01-01T10:07:00Z') };
    expect(nextFlushAt('rate(15 minutes)', lastRun, at('2026-01-01T10:30:00Z'))).toBe(at('2026-01-01T10:37:00Z'));
    expect(nextFlushAt('rate(15 minutes)', lastRun, at('2026-01-01T10:07:00Z'))).toBe(at('2026-01-01T10:22:00Z'));
  });

  it('is one period from now at the latest when no run of this schedule was recorded', () => {
    const now = at('2026-01-01T10:30:00Z');
    expect(nextFlushAt('rate(15 minutes)', undefined, now)).toBe(at('2026-01-01T10:45:00Z'));
    expect(nextFlushAt('rate(15 minutes)', { expression: 'rate(1 hour)', firedAt: at('2026-01-01T10:01:00Z') }, now)).toBe(at('2026-01-01T10:45:00Z'));
  });

  it('understands the local runtime’s second rates', () => {
    expect(nextFlushAt('rate(2 seconds)', { expression: 'rate(2 seconds)', firedAt: 1_000 }, 4_500)).toBe(5_000);
  });

  it('takes cron expressions at their word', () => {
    expect(nextFlushAt('cron(0/15 * * * ? *)', undefined, at('2026-01-01T10:31:10Z'))).toBe(at('2026-01-01T10:45:00Z'));
  });
});
