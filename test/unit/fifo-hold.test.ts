import type { SQSRecord } from 'aws-lambda';
import { heldBehindGroupHead } from '../../shared/delivery/fifo-hold';

const record = (id: string, group: string) => ({ messageId: id, receiptHandle: `rh-${id}`, attributes: { MessageGroupId: group } }) as unknown as SQSRecord;

describe('holding a FIFO group behind its failed head', () => {
  const records = [record('a1', 'A'), record('b1', 'B'), record('a2', 'A'), record('a3', 'A'), record('c1', 'C'), record('c2', 'C')];

  it("gives the rest of a retried group its head's delay, and leaves other groups alone", () => {
    // a1 failed with a 20 s retry, so a2 and a3 were skipped; B succeeded; C failed without a delay (a crash).
    const held = heldBehindGroupHead(records, new Set(['a1', 'a2', 'a3', 'c1', 'c2']), new Map([['A', 20]]));
    expect(held).toEqual([
      { id: 'a2', receiptHandle: 'rh-a2', seconds: 20 },
      { id: 'a3', receiptHandle: 'rh-a3', seconds: 20 },
    ]);
  });

  it('holds nothing when the head is the only failure', () => {
    expect(heldBehindGroupHead(records, new Set(['b1']), new Map([['B', 5]]))).toEqual([]);
  });
});
