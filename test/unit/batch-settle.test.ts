import { holdsBackTail, schedulePeriodMs } from '../../shared/batch/aggregator';
import type { PendingEvent } from '../../shared/batch/pending-store';

const now = 1_000_000;
const tail = (count: number, arrivedAgoMs: number[]) =>
  Array.from({ length: count }, (_, i) => ({ arrivedAt: now - arrivedAgoMs[i % arrivedAgoMs.length]! }) as PendingEvent);

describe('holding back the trailing part-full batch request', () => {
  it('holds it while its newest event is younger than one period', () => {
    expect(holdsBackTail(tail(50, [1500]), 100, schedulePeriodMs('rate(2 seconds)'), now)).toBe(true);
    expect(holdsBackTail(tail(50, [2100]), 100, schedulePeriodMs('rate(2 seconds)'), now)).toBe(false);
  });

  it('waits at most 30 s on long schedules', () => {
    expect(holdsBackTail(tail(10, [20_000]), 100, schedulePeriodMs('rate(15 minutes)'), now)).toBe(true);
    expect(holdsBackTail(tail(10, [31_000]), 100, schedulePeriodMs('rate(15 minutes)'), now)).toBe(false);
    expect(holdsBackTail(tail(10, [31_000]), 100, schedulePeriodMs('cron(0 * * * ? *)'), now)).toBe(false);
  });

  it('never holds a full request, nor one whose oldest event has waited two periods', () => {
    expect(holdsBackTail(tail(100, [100]), 100, schedulePeriodMs('rate(2 seconds)'), now)).toBe(false);
    expect(holdsBackTail(tail(2, [3900, 100]), 100, schedulePeriodMs('rate(2 seconds)'), now)).toBe(true);
    expect(holdsBackTail(tail(2, [4100, 100]), 100, schedulePeriodMs('rate(2 seconds)'), now)).toBe(false);
    expect(holdsBackTail([], 100, schedulePeriodMs('rate(2 seconds)'), now)).toBe(false);
  });
});
