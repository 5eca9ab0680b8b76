/**
 * The body of a request that arrives in pieces (larger than 1 MiB, or chunked): a multipart
 * body goes through the streaming multipart parser into temp files (up to `maxUploadSize`),
 * anything else is collected in memory up to `maxBodySize`. A limit crossed sets `error` to the
 * refusal code; the protocol then answers and closes.
 *
 * @module
 */
import { concatAll } from "../../core/bytes.ts";
import { runtime } from "../../runtime/mod.ts";
import { boundaryOf, MultipartParser } from "./multipart.ts";
import { ChunkedDecoder } from "./chunked.ts";
import type { HeadInfo } from "./parser.ts";
import type { HttpOptions } from "./protocol.ts";
import type { Request } from "./request.ts";
import { UploadCollector } from "./upload.ts";

/** The body of a request being received in pieces. */
export class BodyReceiver {
  readonly request: Request;
  /** Bytes still to come (Content-Length), or -1 for chunked. */
  remaining: number;
  readonly chunked: ChunkedDecoder | null;
  received = 0;
  error = "";
  private readonly limit: number;
  private readonly chunks: Uint8Array[] = [];
  private readonly parser: MultipartParser | null = null;
  private readonly collector: UploadCollector | null = null;
  readonly onData = (data: Uint8Array): void => this.write(data);

  constructor(request: Request, info: HeadInfo, options: Required<HttpOptions>) {
    this.request = request;
    this.remaining = info.chunked ? -1 : info.contentLength;
    this.chunked = info.chunked ? new ChunkedDecoder(options.maxHeaderSize) : null;
    const boundary = info.multipart ? boundaryOf((request.header("content-type") as string | null) ?? "") : null;
    if (boundary !== null) {
      this.collector = new UploadCollector({
        maxFileUploads: options.maxFileUploads,
        maxFields: options.maxFields,
        maxFieldBytes: options.maxBodySize,
        tmpDir: options.uploadTmpDir || runtime.tempDir(),
      });
      this.parser = new MultipartParser(boundary, this.collector, options.maxHeaderSize);
    }
    this.limit = boundary !== null ? options.maxUploadSize : options.maxBodySize;
    if (this.remaining > this.limit) this.error = "ERR_HTTP_BODY_TOO_LARGE";
  }

  write(data: Uint8Array): void {
    if (this.error !== "") return;
    this.received += data.length;
    if (this.received > this.limit) {
      this.error = "ERR_HTTP_BODY_TOO_LARGE";
      return;
    }
    if (this.parser === null) {
      this.chunks.push(data);
      return;
    }
    try {
      this.parser.write(data);
    } catch (err) {
      this.error = (err as { code?: string }).code ?? "ERR_HTTP_MULTIPART";
    }
  }

  /** The whole body arrived: hand it to the request. */
  finish(): Request {
    const req = this.request;
    if (this.collector !== null) {
      req._post = this.collector.post;
      req._files = this.collector.files;
      req._tmpFiles = this.collector.tmpFiles;
    } else {
      req._bodyBytes = concatAll(this.chunks, this.received);
    }
    return req;
  }

  abort(): void {
    this.collector?.abort();
  }
}
