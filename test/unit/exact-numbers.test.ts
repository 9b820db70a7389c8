import { inexactIntegers, validateProducerEvent } from '../../shared/ingest/producer-event';

/** Whatever JSON the catalogue accepts arrives exactly as put, or is rejected with a reason. */
const busMessage = (data: string) =>
  `{"version":"0","id":"e-1","detail-type":"LEARNER_PROGRESS","source":"lms","account":"0","time":"2026-01-01T00:00:00Z","region":"us-east-1","resources":[],"detail":{"accountId":1010,"data":${data}}}`;
const progress = (dateStarted: string) => `{"userId":42,"loId":"course:1","loInstanceId":"course:1_2","loType":"course","progressPercent":40,"dateStarted":${dateStarted}}`;

describe('inexactIntegers', () => {
  it('finds integers a double cannot hold, and nothing else', () => {
    expect(inexactIntegers('{"a":1727414643000000001,"b":-9007199254740993}')).toEqual(['1727414643000000001', '-9007199254740993']);
    expect(inexactIntegers('{"a":1727414643000000000,"b":9007199254740991,"c":1.5e300,"d":0.1}')).toEqual([]);
  });

  it('ignores digits inside strings, escaped quotes included', () => {
    expect(inexactIntegers('{"a":"1727414643000000001","b":"say \\"1727414643000000001\\""}')).toEqual([]);
  });
});

describe('a number beyond 2^53 at ingest', () => {
  it('that a double holds exactly is accepted and serialises back to the same digits', () => {
    const validation = validateProducerEvent(busMessage(progress('1727414643000000000')));
    expect(validation.ok).toBe(true);
    if (validation.ok) expect(JSON.stringify(validation.event.data)).toContain('"dateStarted":1727414643000000000');
  });

  it('that would lose digits is rejected with a reason that says what to do', () => {
    expect(validateProducerEvent(busMessage(progress('1727414643000000001')))).toEqual({
      ok: false,
      reason: expect.stringMatching(/1727414643000000001 has more digits than a JSON number keeps exactly.*send it as a string/),
      eventName: 'LEARNER_PROGRESS',
      accountId: 1010,
    });
  });
});
