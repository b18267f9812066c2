import { IsString } from 'class-validator';
import { convertValue } from './value-conversion.js';
import { inferValueType } from './value-type.js';

class Smtp {
  @IsString() host: string;
}

describe('convertValue', () => {
  it.each([
    ['8080', 8080],
    [' 42 ', 42],
    ['-1.5', -1.5],
    ['1e3', 1000],
    ['.5', 0.5],
  ])('reads the number %j', (raw, expected) => {
    expect(convertValue(raw, { type: 'number' })).toEqual({ ok: true, value: expected });
  });

  it.each(['', 'abc', '0x10', '12px', 'Infinity', 'NaN', '1e999', '1,000'])(
    'refuses %j as a number without repeating it',
    (raw) => {
      const result = convertValue(raw, { type: 'number' });
      expect(result.ok).toBe(false);
      if (!result.ok && raw.length > 0) expect(result.reason).not.toContain(raw);
    },
  );

  it.each([
    ['true', true],
    ['TRUE', true],
    ['1', true],
    ['yes', true],
    ['on', true],
    ['false', false],
    ['0', false],
    ['No', false],
    ['off', false],
  ])('reads the boolean %j', (raw, expected) => {
    expect(convertValue(raw, { type: 'boolean' })).toEqual({ ok: true, value: expected });
  });

  it.each(['', 'maybe', '2', 'truthy'])('refuses %j as a boolean', (raw) => {
    expect(convertValue(raw, { type: 'boolean' }).ok).toBe(false);
  });

  it('reads ISO 8601 dates and epoch milliseconds, and refuses anything else', () => {
    expect(convertValue('2026-03-01T10:00:00Z', { type: 'date' })).toEqual({
      ok: true,
      value: new Date('2026-03-01T10:00:00Z'),
    });
    expect(convertValue('1767225600000', { type: 'date' })).toEqual({
      ok: true,
      value: new Date(1_767_225_600_000),
    });
    expect(convertValue('next tuesday', { type: 'date' }).ok).toBe(false);
  });

  it('parses JSON objects and arrays, checking the shape the field needs', () => {
    expect(convertValue('["a","b"]', { type: 'json', shape: 'array' })).toEqual({
      ok: true,
      value: ['a', 'b'],
    });
    expect(convertValue('{"a":1}', { type: 'json', shape: 'array' })).toEqual({
      ok: false,
      reason: 'is not a JSON array',
    });
    expect(convertValue('[1]', { type: 'json', shape: 'object' }).ok).toBe(false);
    expect(convertValue('42', { type: 'json' }).ok).toBe(false);
    expect(convertValue('{not json', { type: 'json' })).toEqual({
      ok: false,
      reason: 'is not valid JSON',
    });
  });

  it('turns a JSON object into an instance of the field class', () => {
    const result = convertValue('{"host":"smtp.example.com"}', { type: 'json', target: Smtp });
    expect(result.ok && result.value).toBeInstanceOf(Smtp);
    expect(result.ok && (result.value as Smtp).host).toBe('smtp.example.com');
  });

  it('takes typed values from ConfigService load factories as they are', () => {
    expect(convertValue(9090, { type: 'number' })).toEqual({ ok: true, value: 9090 });
    expect(convertValue(true, { type: 'boolean' })).toEqual({ ok: true, value: true });
    expect(convertValue(7, { type: 'string' })).toEqual({ ok: true, value: '7' });
    expect(convertValue({ a: 1 }, { type: 'json' })).toEqual({ ok: true, value: { a: 1 } });
    expect(convertValue({}, { type: 'string' }).ok).toBe(false);
  });
});

describe('inferValueType', () => {
  it('prefers the explicit type, then design:type, then the default', () => {
    expect(inferValueType('string', Number, 1)).toEqual({ type: 'string' });
    expect(inferValueType(undefined, Number, undefined)).toEqual({ type: 'number' });
    expect(inferValueType(undefined, Array, undefined)).toEqual({ type: 'json', shape: 'array' });
    expect(inferValueType(undefined, Smtp, undefined)).toEqual({ type: 'json', target: Smtp });
    expect(inferValueType(undefined, Object, 3000)).toEqual({ type: 'number' });
    expect(inferValueType(undefined, Object, false)).toEqual({ type: 'boolean' });
    expect(inferValueType(undefined, Object, ['x'])).toEqual({ type: 'json', shape: 'array' });
    expect(inferValueType(undefined, Object, new Date(0))).toEqual({ type: 'date' });
  });

  it('gives up on a union or unknown without a default, so the field must say', () => {
    expect(inferValueType(undefined, Object, undefined)).toBeUndefined();
    expect(inferValueType(undefined, undefined, undefined)).toBeUndefined();
  });
});
