import { describe, expect, it } from "vitest";
import { ConfigError } from "../../core/errors.ts";
import { MAX_V1_LENGTH, parseProxyHeader, ProxyHeaderError, trustedMatcher } from "../../core/proxy_protocol.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const SIG = [0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a];

function v2(command: number, family: number, body: number[]): Uint8Array {
  return new Uint8Array([...SIG, 0x20 | command, family, body.length >> 8, body.length & 0xff, ...body]);
}

const v2ipv4 = v2(1, 0x11, [192, 0, 2, 1, 198, 51, 100, 2, 0x30, 0x39, 0x01, 0xbb, /* TLV */ 0x04, 0x00, 0x01, 0x00]);
const v2ipv6 = v2(1, 0x21, [
  0x20,
  0x01,
  0x0d,
  0xb8,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0x01,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0xff,
  0xff,
  10,
  0,
  0,
  9,
  0x00,
  0x50,
  0x00,
  0x51,
]);

const vectors: [string, Uint8Array, unknown][] = [
  ["v1 TCP4", enc("PROXY TCP4 192.0.2.1 198.51.100.2 12345 443\r\n"), {
    version: 1,
    source: { address: "192.0.2.1", port: 12345 },
    destination: { address: "198.51.100.2", port: 443 },
  }],
  ["v1 TCP6", enc("PROXY TCP6 2001:DB8::1 ::ffff:10.0.0.9 80 81\r\n"), {
    version: 1,
    source: { address: "2001:db8::1", port: 80 },
    destination: { address: "::ffff:10.0.0.9", port: 81 },
  }],
  ["v1 UNKNOWN", enc("PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n"), { version: 1, source: null, destination: null }],
  ["v2 IPv4 with a TLV", v2ipv4, {
    version: 2,
    source: { address: "192.0.2.1", port: 12345 },
    destination: { address: "198.51.100.2", port: 443 },
  }],
  ["v2 IPv6 (the destination IPv4-mapped)", v2ipv6, {
    version: 2,
    source: { address: "2001:db8::1", port: 80 },
    destination: { address: "10.0.0.9", port: 81 },
  }],
  ["v2 LOCAL", v2(0, 0x00, []), { version: 2, source: null, destination: null }],
];

describe("parseProxyHeader()", () => {
  it.each(vectors)("%s: every proper prefix needs more bytes, the whole header parses", (_name, bytes, expected) => {
    for (let n = 0; n < bytes.length; n++) expect(parseProxyHeader(bytes.subarray(0, n))).toBe(0);
    const data = new Uint8Array([...bytes, ...enc("payload")]);
    expect(parseProxyHeader(data)).toEqual({ length: bytes.length, ...(expected as object) });
  });

  it.each([
    ["plain HTTP", enc("GET / HTTP/1.1\r\n")],
    ["a v1 header without CRLF within 107 bytes", enc("PROXY TCP4 " + "1".repeat(MAX_V1_LENGTH))],
    ["a v1 header with a port above 65535", enc("PROXY TCP4 192.0.2.1 198.51.100.2 99999 443\r\n")],
    ["a v1 header with an IPv6 address as TCP4", enc("PROXY TCP4 ::1 ::1 1 2\r\n")],
    ["a v1 header with too few fields", enc("PROXY TCP4 192.0.2.1 443\r\n")],
    ["a v2 signature with version 1", new Uint8Array([...SIG, 0x11, 0x11, 0, 0])],
    ["a v2 IPv4 header too short for its addresses", v2(1, 0x11, [1, 2, 3])],
  ])("refuses %s with a ProxyHeaderError", (_name, bytes) => {
    expect(() => parseProxyHeader(bytes)).toThrow(ProxyHeaderError);
  });
});

describe("trustedMatcher()", () => {
  it("matches single addresses and CIDR ranges of both families, IPv4-mapped addresses as IPv4", () => {
    const trusted = trustedMatcher(["127.0.0.1", "10.0.0.0/8", "fd00::/8", "2001:db8::5"]);
    expect(trusted("127.0.0.1")).toBe(true);
    expect(trusted("::ffff:127.0.0.1")).toBe(true);
    expect(trusted("10.200.3.4")).toBe(true);
    expect(trusted("11.0.0.1")).toBe(false);
    expect(trusted("fd12:3456::1")).toBe(true);
    expect(trusted("fe80::1")).toBe(false);
    expect(trusted("2001:db8:0:0::5")).toBe(true);
    expect(trusted("2001:db8::6")).toBe(false);
    expect(trusted("")).toBe(false);
  });

  it("refuses an entry that is no address or range, saying which", () => {
    expect(() => trustedMatcher(["10.0.0.0/33"])).toThrow(ConfigError);
    expect(() => trustedMatcher(["load-balancer"])).toThrow(/"load-balancer" is not an IP address or CIDR range/);
  });
});
