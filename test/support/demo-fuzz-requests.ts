import fc from 'fast-check';

export type Credential = 'none' | 'admin' | 'caller' | 'garbage' | 'basic' | 'oversized';

/** One malformed (or, by chance, valid) request of the fuzz. */
export interface FuzzRequest {
  method: string;
  path: string;
  credential: Credential;
  garbage: string;
  contentType?: string;
  body?: string;
}

/** The demo's routes; `{}` is where a path segment goes. */
const ROUTES: readonly [string, string][] = [
  ['POST', '/encrypt'],
  ['POST', '/decrypt'],
  ['PUT', '/secrets/{}'],
  ['GET', '/secrets/{}'],
  ['POST', '/secrets/{}/rotate'],
  ['DELETE', '/secrets/{}'],
  ['GET', '/secrets'],
  ['POST', '/keys/rotate'],
  ['POST', '/notes'],
  ['GET', '/notes/{}'],
  ['POST', '/callers/{}/token'],
  ['GET', '/status'],
  ['GET', '/health'],
  ['GET', '/metrics'],
  ['GET', '/docs-json'],
  ['PATCH', '/encrypt'],
  ['GET', '/{}'],
];

/** Every field name any route reads, and the prototype keys. */
const FIELDS = ['plaintext', 'aad', 'envelope', 'body', 'value', 'description', 'tags', 'ttlDays'];
const HOSTILE_KEYS = ['__proto__', 'constructor', 'prototype', '', 'demo.caller', '\u0000'];

const hostileText = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom(
    '\u0000',
    'a\u0000b',
    '\ud800',
    '\udfff',
    '\u202e',
    '${x}',
    '%00',
    'x'.repeat(2_000),
  ),
);

const segment = fc.oneof(
  fc.constantFrom('x', 'FUZZ', '..', '.', '%2e%2e', '%2F', '..%2F..%2Fetc', '%00', 'a%00b'),
  fc.constantFrom('%E0%A4%A', '%', '%zz', 'n'.repeat(300), '00000000-0000-0000-0000-000000000000'),
  fc.constantFrom('%F0%9F%98%80', '%ED%A0%80', 'a%20b', '-', '~', "'", '%22'),
  fc.string({ unit: 'binary', maxLength: 30 }).map((text) => {
    try {
      return encodeURIComponent(text) || 'y';
    } catch {
      return 'z';
    }
  }),
);

const query = fc.oneof(
  fc.constant(''),
  fc.constantFrom('?version=2147483648', '?version=-1', '?version=1e400', '?version=0x10'),
  fc.constantFrom('?version=1&version=2', '?version=', '?tag=a&tag=b', '?tag=%00', '?__proto__=1'),
  fc.tuple(segment, segment).map(([key, value]) => `?${key}=${value}`),
);

const scalar = fc.oneof(
  hostileText.map((text) => JSON.stringify(text)),
  fc.constantFrom('1e400', '-0', '2147483648', '9007199254740993', 'null', 'true', '[]', '{}'),
);

const fieldsObject = fc
  .dictionary(fc.oneof(fc.constantFrom(...FIELDS), fc.constantFrom(...HOSTILE_KEYS)), scalar, {
    maxKeys: 6,
  })
  .map(
    (fields) =>
      `{${Object.entries(fields)
        .map(([k, v]) => `${JSON.stringify(k)}:${v}`)
        .join(',')}}`,
  );

const deep = fc
  .tuple(fc.integer({ min: 10, max: 6_000 }), fc.constantFrom(...FIELDS), fc.boolean())
  .map(([depth, field, map]) => {
    const value = map
      ? `${'{"k":'.repeat(depth)}1${'}'.repeat(depth)}`
      : `${'['.repeat(depth)}${']'.repeat(depth)}`;
    return `{"${field}":${value}}`;
  });

const manyKeys = fc
  .integer({ min: 500, max: 5_000 })
  .map((count) => `{${Array.from({ length: count }, (_, at) => `"k${at}":${at}`).join(',')}}`);

/** Bodies around a real envelope: its fields changed, added to, or nested. */
const aroundEnvelope = (envelope: string) =>
  fc
    .tuple(fc.constantFrom(...HOSTILE_KEYS, 'keyId', 'iv', 'v', 'aad'), scalar)
    .map(
      ([key, value]) =>
        `{"envelope":${envelope.replace(/}$/, `,${JSON.stringify(key)}:${value}}`)}}`,
    );

const body = (envelope: string) =>
  fc.oneof(
    { weight: 4, arbitrary: fieldsObject },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((value) => JSON.stringify(value)) },
    { weight: 2, arbitrary: deep },
    { weight: 1, arbitrary: manyKeys },
    { weight: 4, arbitrary: aroundEnvelope(envelope) },
    {
      weight: 2,
      arbitrary: fieldsObject.chain((json) =>
        fc.integer({ min: 0, max: json.length }).map((at) => json.slice(0, at)),
      ),
    },
    { weight: 1, arbitrary: fc.constant(`{"value":"${'v'.repeat(600_000)}"}`) },
    { weight: 1, arbitrary: fc.constant(undefined) },
  );

const contentType = fc.oneof(
  { weight: 8, arbitrary: fc.constant('application/json') },
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      'application/json; charset=utf-8',
      'application/json; charset=utf-16le',
      'application/json; charset=latin1',
      'application/json; charset=utf-7',
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      undefined,
    ),
  },
);

/** Requests past authentication and parsing: a route's valid body with one field made hostile. */
const authenticated = (envelope: string) => {
  const routes: [string, string, Credential, Record<string, string>][] = [
    ['POST', '/encrypt', 'caller', { plaintext: '"x"' }],
    ['POST', '/decrypt', 'caller', { envelope }],
    ['POST', '/notes', 'caller', { body: '"x"' }],
    ['PUT', '/secrets/{}', 'admin', { value: '"v"' }],
    ['POST', '/secrets/{}/rotate', 'admin', { value: '"v"' }],
    ['GET', '/secrets/{}', 'admin', {}],
    ['GET', '/notes/{}', 'caller', {}],
  ];
  return fc
    .record({
      route: fc.constantFrom(...routes),
      segment,
      query: fc.oneof({ weight: 3, arbitrary: fc.constant('') }, query),
      field: fc.constantFrom(...FIELDS, ...HOSTILE_KEYS),
      value: fc.oneof(
        scalar,
        fc.constant(envelope),
        deep.map((json) => json.slice(json.indexOf(':') + 1, -1)),
      ),
    })
    .map(
      ({
        route: [method, template, credential, fields],
        segment: part,
        query: search,
        field,
        value,
      }): FuzzRequest => {
        const json = Object.entries({ ...fields, [field]: value });
        return {
          method,
          path: `${template.replace('{}', part)}${search}`,
          credential,
          garbage: '',
          contentType: method === 'GET' ? undefined : 'application/json',
          body:
            method === 'GET'
              ? undefined
              : `{${json.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`,
        };
      },
    );
};

/** `count` requests from `seed`, the same ones every time. `envelope` is one the demo made. */
export function fuzzRequests(seed: number, count: number, envelope: string): FuzzRequest[] {
  const request = fc
    .record({
      route: fc.constantFrom(...ROUTES),
      segment,
      query,
      credential: fc.constantFrom<Credential>(
        'none',
        'admin',
        'admin',
        'caller',
        'caller',
        'garbage',
        'basic',
        'oversized',
      ),
      garbage: fc.string({ unit: fc.constantFrom(...'abcXYZ019.-_~+/= \t"\\'), maxLength: 80 }),
      contentType,
      body: body(envelope),
    })
    .map(({ route: [method, template], segment: part, query: search, ...rest }): FuzzRequest => {
      const path = `${template.replace('{}', part)}${search}`;
      // Node's parser answers oversized headers before reading a body; send none with them.
      const bodyless = method === 'GET' || rest.credential === 'oversized';
      return {
        method,
        path,
        credential: rest.credential,
        garbage: rest.garbage,
        contentType: bodyless ? undefined : rest.contentType,
        body: bodyless ? undefined : rest.body,
      };
    });
  return fc.sample(fc.oneof(request, authenticated(envelope)), { seed, numRuns: count });
}
