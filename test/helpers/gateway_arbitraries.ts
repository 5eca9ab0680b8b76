/**
 * fast-check arbitraries for the gateway's wire formats, shared by `test/unit/fuzz_gateway.test.ts`
 * and the `gateway` fuzz target in `test/helpers/fuzz.ts`: values PHP can hold, GatewayProtocol
 * packages as peers send them, and what such a package decodes to.
 */
import fc from "fast-check";
import { asBytes, utf8Encode } from "../../core/bytes.ts";
import { type PackageFields, phpSerialize } from "../../gateway/protocol.ts";

const phpScalar = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 }),
  fc.maxSafeInteger(),
  fc.double(),
  fc.string({ unit: "binary", maxLength: 20 }),
  fc.string({ unit: "grapheme", maxLength: 10 }),
);

/** A value PHP can hold: scalars, null, and nested lists and string-keyed maps of them. */
export const { phpValue } = fc.letrec((tie) => ({
  phpValue: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    phpScalar,
    fc.array(tie("phpValue"), { maxLength: 4 }),
    fc.dictionary(fc.string({ unit: "binary", maxLength: 8 }), tie("phpValue"), { maxKeys: 4 }),
  ),
}));

/** What a value becomes after a PHP round trip: an empty PHP array reads back as a JS array. */
export function phpShape(value: unknown): unknown {
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map(phpShape);
  const entries = Object.entries(value);
  if (entries.length === 0) return [];
  const out: Record<string, unknown> = {};
  for (const [k, v] of entries) Object.defineProperty(out, k, { value: phpShape(v), enumerable: true });
  return out;
}

const header = {
  cmd: fc.integer({ min: 0, max: 255 }),
  localIp: fc.integer({ min: 0, max: 0xffffffff }),
  localPort: fc.integer({ min: 0, max: 0xffff }),
  clientIp: fc.integer({ min: 0, max: 0xffffffff }),
  clientPort: fc.integer({ min: 0, max: 0xffff }),
  connectionId: fc.integer({ min: 0, max: 0xffffffff }),
  flag: fc.constantFrom(0, 2),
  gatewayPort: fc.integer({ min: 0, max: 0xffff }),
};

/** A package as GatewayWorker peers send them: plain-string or serialized bodies, session/JSON ext data. */
export const packageFields: fc.Arbitrary<PackageFields> = fc.record({
  ...header,
  extData: fc.oneof(fc.string({ unit: "binary", maxLength: 30 }), phpValue.map((v) => phpSerialize(v))),
  body: fc.oneof(fc.string({ unit: "binary", maxLength: 60 }), phpValue),
});

/** PHP's string cast of a scalar body (what `is_scalar` bodies travel as). */
function scalarText(body: unknown): string | null {
  if (typeof body === "string") return body;
  if (typeof body === "number") return String(body);
  if (typeof body === "boolean") return body ? "1" : "";
  return null;
}

/** What `decodePackage` gives for `fields`: a scalar body as its UTF-8 bytes (flag 0x01), anything else as the PHP value. */
export function expectedPackage(fields: PackageFields) {
  const text = scalarText(fields.body);
  return {
    ...fields,
    flag: fields.flag! | (text === null ? 0 : 1),
    body: text === null ? phpShape(fields.body) : asBytes(utf8Encode(text)),
  };
}
