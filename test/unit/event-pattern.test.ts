import { type EventPattern, EventPatternError, matchesEventPattern, validateEventPattern } from '../../infra/local/event-pattern';
import { INGEST_EVENT_PATTERN } from '../../shared/events/sources';

const event = {
  version: '0',
  id: 'c1b2',
  'detail-type': 'COURSE_ENROLLMENT',
  source: 'lms',
  account: '000000000000',
  time: '2025-03-07T12:00:00Z',
  region: 'us-east-1',
  resources: ['arn:aws:lms:course/1', 'arn:aws:lms:learner/2'],
  detail: { accountId: 1010, eventId: 'e-1', data: { score: 87.5, tags: ['a', 'b'], learner: { name: 'Ada' } }, note: null },
};

const cases: Array<[string, EventPattern, boolean]> = [
  ['the ingest rule, source lms', INGEST_EVENT_PATTERN, true],
  ['the ingest rule, source lms.webhooks', { ...INGEST_EVENT_PATTERN, source: ['lms.webhooks'] }, false],
  ['one of several values', { 'detail-type': ['X', 'COURSE_ENROLLMENT'] }, true],
  ['values are case-sensitive', { 'detail-type': ['course_enrollment'] }, false],
  ['equals-ignore-case', { 'detail-type': [{ 'equals-ignore-case': 'course_enrollment' }] }, true],
  ['nested objects', { detail: { data: { learner: { name: ['Ada'] } } } }, true],
  ['a nested field that differs', { detail: { data: { learner: { name: ['Bob'] } } } }, false],
  ['a number', { detail: { accountId: [1010] } }, true],
  ['a number is not its string', { detail: { accountId: ['1010'] } }, false],
  ['null', { detail: { note: [null] } }, true],
  ['any element of an array field', { resources: ['arn:aws:lms:learner/2'] }, true],
  ['array elements by prefix', { resources: [{ prefix: 'arn:aws:lms:course/' }] }, true],
  ['prefix', { source: [{ prefix: 'lm' }] }, true],
  ['prefix that fails', { source: [{ prefix: 'lms.' }] }, false],
  ['suffix', { 'detail-type': [{ suffix: '_ENROLLMENT' }] }, true],
  ['anything-but a value', { source: [{ 'anything-but': 'lms.webhooks' }] }, true],
  ['anything-but a list containing it', { source: [{ 'anything-but': ['lms', 'x'] }] }, false],
  ['anything-but a prefix', { source: [{ 'anything-but': { prefix: 'lms' } }] }, false],
  ['anything-but on a missing field', { detail: { missing: [{ 'anything-but': 'x' }] } }, false],
  ['exists on a present leaf', { detail: { eventId: [{ exists: true }] } }, true],
  ['exists on a missing field', { detail: { missing: [{ exists: true }] } }, false],
  ['not-exists on a missing field', { detail: { missing: [{ exists: false }] } }, true],
  ['not-exists on a present field', { detail: { eventId: [{ exists: false }] } }, false],
  ['exists on an object (not a leaf)', { detail: { data: [{ exists: true }] } }, false],
  ['numeric range', { detail: { data: { score: [{ numeric: ['>', 80, '<=', 90] }] } } }, true],
  ['numeric range that fails', { detail: { data: { score: [{ numeric: ['<', 50] }] } } }, false],
  ['numeric equality', { detail: { accountId: [{ numeric: ['=', 1010] }] } }, true],
  ['numeric on a string', { source: [{ numeric: ['>', 0] }] }, false],
  ['all fields must match', { source: ['lms'], 'detail-type': ['OTHER'] }, false],
  ['a nested pattern on a missing object', { missing: { a: ['b'] } }, false],
  ['$or', { $or: [{ source: ['x'] }, { detail: { accountId: [1010] } }] }, true],
  ['$or with no match', { $or: [{ source: ['x'] }, { detail: { accountId: [1] } }] }, false],
];

describe('matchesEventPattern', () => {
  it.each(cases)('%s', (_name, pattern, expected) => {
    validateEventPattern(pattern);
    expect(matchesEventPattern(pattern, event)).toBe(expected);
  });
});

describe('validateEventPattern', () => {
  it.each([
    [{ source: 'lms' }, /must be an array of values or a nested object/],
    [{ source: [{ wildcard: 'l*' }] }, /not supported/],
    [{ source: [{ prefix: 'a', suffix: 'b' }] }, /exactly one operator/],
    [{ detail: { n: [{ numeric: ['>'] }] } }, /not supported/],
    [{ detail: { n: [{ numeric: ['~', 1] }] } }, /not supported/],
    [{ source: [{ 'anything-but': { wildcard: 'x' } }] }, /not supported/],
    [{ $or: [{ source: ['a'] }] }, /at least two patterns/],
  ])('rejects %j', (pattern, message) => {
    expect(() => validateEventPattern(pattern)).toThrow(EventPatternError);
    expect(() => validateEventPattern(pattern)).toThrow(message);
  });
});
