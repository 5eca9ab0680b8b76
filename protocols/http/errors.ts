/**
 * Every way an HTTP request can be refused, in one table: a stable code, the status the
 * client gets, and what went wrong. The parser returns these codes (it never throws on the hot
 * path); the protocol answers with {@link rejectionResponse} and closes the connection.
 *
 * @module
 */
import { ProtocolError } from "../../core/errors.ts";

/** An HTTP error with a stable `code` and the `status` a client is answered with. */
export class HttpError extends ProtocolError {
  /** The HTTP status the client is answered with. */
  readonly status: number;
  /** An HTTP error with its `code` and `status` (400 by default). */
  constructor(code: string, message: string, status = 400) {
    super(code, message);
    this.status = status;
  }
}

/** Status and meaning of each refusal code. */
export const REJECTIONS: Record<string, readonly [status: number, message: string]> = {
  ERR_HTTP_HEADERS_TOO_LARGE: [431, "the request head exceeds maxHeaderSize"],
  ERR_HTTP_TOO_MANY_HEADERS: [431, "the request has more header fields than maxHeaderCount"],
  ERR_HTTP_BODY_TOO_LARGE: [413, "the request body exceeds maxBodySize (maxUploadSize for multipart/form-data)"],
  ERR_HTTP_TOO_MANY_PARTS: [413, "the multipart body has more parts than maxFileUploads/maxFields"],
  ERR_HTTP_METHOD: [400, "the method is not a valid token"],
  ERR_HTTP_METHOD_TOO_LONG: [501, "the method is longer than any registered method (17 bytes)"],
  ERR_HTTP_TARGET: [
    400,
    'the request target is empty or holds a byte outside RFC 3986 (whitespace, a control character, a byte above 0x7F, ", #, < or >)',
  ],
  ERR_HTTP_TARGET_FORM: [
    400,
    "the request target is * without OPTIONS, or neither /path nor scheme://... (host:port is for CONNECT)",
  ],
  ERR_HTTP_URI_TOO_LONG: [414, "the request target exceeds maxTargetSize (or fills maxHeaderSize)"],
  ERR_HTTP_CONNECT: [501, "CONNECT is not implemented: this server is not a proxy"],
  ERR_HTTP_VERSION: [400, "the request line does not end in HTTP/<digit>.<digit>"],
  ERR_HTTP_VERSION_UNSUPPORTED: [505, "only HTTP/1.x is served"],
  ERR_HTTP_BARE_CR: [400, "a CR not followed by LF"],
  ERR_HTTP_BARE_LF: [400, "a LF not preceded by CR"],
  ERR_HTTP_HEADER_NAME: [400, "a header name is empty or not a token"],
  ERR_HTTP_SPACE_BEFORE_COLON: [400, "whitespace between a header name and its colon"],
  ERR_HTTP_OBS_FOLD: [400, "a header line folded onto the next (obs-fold)"],
  ERR_HTTP_HEADER_VALUE: [400, "a header value holds a control character"],
  ERR_HTTP_CONTENT_LENGTH: [400, "Content-Length is not a decimal number from 0 to 2^53-1"],
  ERR_HTTP_CONTENT_LENGTH_DUPLICATE: [400, "more than one Content-Length"],
  ERR_HTTP_TE_WITH_CONTENT_LENGTH: [400, "both Transfer-Encoding and Content-Length"],
  ERR_HTTP_TE_HTTP10: [400, "Transfer-Encoding in an HTTP/1.0 request"],
  ERR_HTTP_TE_NOT_CHUNKED: [400, "Transfer-Encoding does not end in a single chunked"],
  ERR_HTTP_TE_UNSUPPORTED: [501, "a transfer coding other than chunked"],
  ERR_HTTP_CHUNK_SIZE: [400, "a chunk size is not 1-8 hex digits"],
  ERR_HTTP_CHUNK_EXTENSION: [
    400,
    "a chunk extension is not ;name[=token or quoted string], or is longer than 1024 bytes",
  ],
  ERR_HTTP_CHUNK_FRAMING: [400, "chunk data not followed by CRLF"],
  ERR_HTTP_TRAILERS_TOO_LARGE: [431, "the chunked trailer section exceeds maxHeaderSize"],
  ERR_HTTP_MISSING_HOST: [400, "an HTTP/1.1 request without Host"],
  ERR_HTTP_DUPLICATE_HOST: [400, "more than one Host"],
  ERR_HTTP_HOST: [400, "the Host is not host[:port] (userinfo, a path or a list), or is empty with a /path target"],
  ERR_HTTP_EXPECTATION: [417, "an Expect other than 100-continue"],
  ERR_HTTP_MULTIPART: [400, "the multipart/form-data body is malformed"],
  ERR_HTTP_REQUEST_TIMEOUT: [408, "the request head did not arrive within the worker's headerTimeout"],
};

const REASONS: Record<number, string> = {
  400: "Bad Request",
  408: "Request Timeout",
  413: "Content Too Large",
  414: "URI Too Long",
  417: "Expectation Failed",
  431: "Request Header Fields Too Large",
  501: "Not Implemented",
  505: "HTTP Version Not Supported",
};

/** The status a refusal code is answered with (400 for an unknown code). */
export function rejectionStatus(code: string): number {
  return REJECTIONS[code]?.[0] ?? 400;
}

/** The short response that refuses a request: status line, `Connection: close`, the code and its meaning as text. */
export function rejectionResponse(code: string): string {
  const [status, message] = REJECTIONS[code] ?? [400, "bad request"];
  const body = `${code}: ${message}\n`;
  return `HTTP/1.1 ${status} ${REASONS[status] ?? "Bad Request"}\r\nServer: workerman\r\n` +
    `Content-Type: text/plain;charset=utf-8\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`;
}

/** An {@link HttpError} for a refusal code. */
export function httpError(code: string, detail = ""): HttpError {
  const [status, message] = REJECTIONS[code] ?? [400, "bad request"];
  return new HttpError(code, detail ? `${message}: ${detail}` : message, status);
}
