import { decodePageToken, encodePageToken, type PageKeyShape } from '../../shared/storage/pagination';

const shape: PageKeyShape = { equal: { pk: 'WEBHOOK#wh_1' }, prefixed: { sk: 'DELIVERY#' }, other: ['gsi1sk'] };
const token = (key: unknown) => Buffer.from(JSON.stringify(key)).toString('base64url');
const valid = { pk: 'WEBHOOK#wh_1', sk: 'DELIVERY#msg_1', gsi1sk: 'msg_1' };

describe('page tokens', () => {
  it('round-trips a key of the expected shape', () => {
    expect(decodePageToken(encodePageToken(valid), shape)).toEqual(valid);
    expect(decodePageToken(undefined, shape)).toBeUndefined();
  });

  it.each([
    ['not base64 JSON', '!!!'],
    ['JSON but not an object', token([valid])],
    ['a missing key attribute', token({ pk: valid.pk, sk: valid.sk })],
    ['an extra attribute', token({ ...valid, other: 'x' })],
    ['a number', token({ ...valid, gsi1sk: 1 })],
    ['an empty value', token({ ...valid, gsi1sk: '' })],
    ['an over-long value', token({ ...valid, gsi1sk: 'é'.repeat(300) })],
    ['another partition', token({ ...valid, pk: 'WEBHOOK#wh_2' })],
    ['a sort key outside the range', token({ ...valid, sk: 'ATTEMPT#msg_1#000001' })],
    ['the bare range prefix', token({ ...valid, sk: 'DELIVERY#' })],
  ])('refuses %s with a 400 naming nextToken', (_case, nextToken) => {
    expect(() => decodePageToken(nextToken, shape)).toThrow(expect.objectContaining({ status: 400, errors: [expect.objectContaining({ field: 'nextToken' })] }));
  });
});
