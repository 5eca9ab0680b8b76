/**
 * Raw requests for what RFC 9110/9112 require of a server's parser (Host syntax, request-target
 * forms and bytes, chunk extensions, lengths), shared by the raw-socket e2e test
 * (test/e2e/http.test.ts) and scripts/compare_node_http.ts, which sends the same bytes to
 * node:http. Requests are written as latin1 strings: one character per byte, so the raw UTF-8
 * and overlong bytes below reach the server as they are.
 */

const CHUNKED = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n";

/** [what, status, code, raw request]: each is refused and its connection closed. */
export const STRICT_REFUSALS: [string, number, string, string][] = [
  ["a Host with userinfo", 400, "ERR_HTTP_HOST", "GET / HTTP/1.1\r\nHost: user@h\r\n\r\n"],
  ["a Host with a path", 400, "ERR_HTTP_HOST", "GET / HTTP/1.1\r\nHost: h/path\r\n\r\n"],
  ["a Host holding a list", 400, "ERR_HTTP_HOST", "GET / HTTP/1.1\r\nHost: a, b\r\n\r\n"],
  ["an empty Host on an origin-form HTTP/1.1 request", 400, "ERR_HTTP_HOST", "GET / HTTP/1.1\r\nHost:\r\n\r\n"],
  ["an asterisk-form target without OPTIONS", 400, "ERR_HTTP_TARGET_FORM", "GET * HTTP/1.1\r\nHost: h\r\n\r\n"],
  ["an authority-form target without CONNECT", 400, "ERR_HTTP_TARGET_FORM", "GET h:80 HTTP/1.1\r\nHost: h\r\n\r\n"],
  ["CONNECT (not a proxy)", 501, "ERR_HTTP_CONNECT", "CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n"],
  ["raw UTF-8 in the target", 400, "ERR_HTTP_TARGET", "GET /caf\xc3\xa9 HTTP/1.1\r\nHost: h\r\n\r\n"],
  ["an overlong UTF-8 '/' in the target", 400, "ERR_HTTP_TARGET", "GET /a\xc0\xafb HTTP/1.1\r\nHost: h\r\n\r\n"],
  ["a '\"' in the target", 400, "ERR_HTTP_TARGET", 'GET /a"b HTTP/1.1\r\nHost: h\r\n\r\n'],
  ["a '<' in the target", 400, "ERR_HTTP_TARGET", "GET /a<b HTTP/1.1\r\nHost: h\r\n\r\n"],
  ["a fragment in the target", 400, "ERR_HTTP_TARGET", "GET /a#b HTTP/1.1\r\nHost: h\r\n\r\n"],
  ["a bare ';' as chunk extension", 400, "ERR_HTTP_CHUNK_EXTENSION", `${CHUNKED}5;\r\nhello\r\n0\r\n\r\n`],
  [
    "a chunk extension name that is not a token",
    400,
    "ERR_HTTP_CHUNK_EXTENSION",
    `${CHUNKED}5;bad[=x\r\nhello\r\n0\r\n\r\n`,
  ],
  ["a chunk extension with '=' and no value", 400, "ERR_HTTP_CHUNK_EXTENSION", `${CHUNKED}5;a=\r\nhello\r\n0\r\n\r\n`],
  [
    "a Content-Length above 2^53-1",
    400,
    "ERR_HTTP_CONTENT_LENGTH",
    "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999\r\n\r\n",
  ],
  [
    "a Content-Length of 2^53-1 (valid, above maxBodySize)",
    413,
    "ERR_HTTP_BODY_TOO_LARGE",
    "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 9007199254740991\r\n\r\n",
  ],
  [
    "a method longer than any registered one",
    501,
    "ERR_HTTP_METHOD_TOO_LONG",
    "ABCDEFGHIJKLMNOPQRSTUVWXYZ / HTTP/1.1\r\nHost: h\r\n\r\n",
  ],
  [
    "a request target above 16 KiB",
    414,
    "ERR_HTTP_URI_TOO_LONG",
    `GET /${"a".repeat(17000)} HTTP/1.1\r\nHost: h\r\n\r\n`,
  ],
];

/** [what, raw request]: each is answered as any request (it must not be refused). */
export const STRICT_ACCEPTED: [string, string][] = [
  ["an IPv6 Host with a port", "GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n"],
  ["an IPv4 Host with a port", "GET / HTTP/1.1\r\nHost: 127.0.0.1:80\r\n\r\n"],
  ["OPTIONS *", "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n"],
  ["an absolute-form target", "GET http://h/path?q=1 HTTP/1.1\r\nHost: h\r\n\r\n"],
  ["an absolute-form target with an empty Host", "GET http://h/path HTTP/1.1\r\nHost:\r\n\r\n"],
  ["an HTTP/1.0 request without Host", "GET / HTTP/1.0\r\n\r\n"],
  [
    "the characters fetch sends unencoded in a query",
    "GET /p[0]|^?a[]=1&b={x}|^`\\~'!$(*)+,;=:@%C3%A9 HTTP/1.1\r\nHost: h\r\n\r\n",
  ],
  ["a chunk extension name=value", `${CHUNKED}5;name=value\r\nhello\r\n0\r\n\r\n`],
  ["a quoted chunk extension with an escaped quote", `${CHUNKED}5;a;name="quo\\"ted; x"\r\nhello\r\n0\r\n\r\n`],
  ["a chunk extension with whitespace around ';' and '='", `${CHUNKED}5 ; a = b\r\nhello\r\n0\r\n\r\n`],
  ["the longest registered method", "UPDATEREDIRECTREF / HTTP/1.1\r\nHost: h\r\n\r\n"],
];
