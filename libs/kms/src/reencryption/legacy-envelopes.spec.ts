import { KEY_ID_PATTERN } from '../envelope/envelope.constants.js';
import { markedKeyId, purposesMarkedBy } from './legacy-envelopes.js';

describe('data key ids that mark the stores refusing format v1', () => {
  it.each([
    [[], /^dk-[0-9a-f-]{36}$/, []],
    [['secret'], /^dk2-s-[0-9a-f-]{36}$/, ['secret']],
    [['column'], /^dk2-c-[0-9a-f-]{36}$/, ['column']],
    [['column', 'secret'], /^dk2-sc-[0-9a-f-]{36}$/, ['secret', 'column']],
  ] as const)(
    'refusing %j: an id like %s that reads back as the same stores',
    (refused, shape, marks) => {
      const id = markedKeyId(refused);
      expect(id).toMatch(shape);
      expect(id).toMatch(KEY_ID_PATTERN);
      expect(purposesMarkedBy(id)).toEqual(marks);
    },
  );

  it('ids made before marks existed, or by hand, mark nothing', () => {
    for (const id of [
      'dk-7d5e0f0a-4b1c-4c8e-9a51-2f6b8f1e3c2d',
      'dk2-',
      'dk2-x-1',
      'key-1',
      'dk2sc-1',
    ]) {
      expect(purposesMarkedBy(id)).toEqual([]);
    }
  });
});
