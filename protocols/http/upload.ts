/**
 * Where a multipart body goes: fields into a form (in memory, bounded), files into temp files
 * `workerman.upload.<random>` written piece by piece as they arrive, so an upload of any size
 * uses a constant amount of memory. The temp files are removed when the request's response has
 * been sent (or the connection closes); move a file away before answering to keep it.
 *
 * Each file is described as PHP does (`$_FILES`): `{ name, tmp_name, size, error, type }`,
 * with `error` one of the `UPLOAD_ERR_*` codes.
 *
 * @module
 */
import { concatAll, utf8Decode } from "../../core/bytes.ts";
import { runtime } from "../../runtime/mod.ts";
import { httpError } from "./errors.ts";
import type { MultipartSink, PartInfo } from "./multipart.ts";
import { type Form, setField } from "./query.ts";
import { randomHex } from "./session.ts";

/** An uploaded file, as PHP's `$_FILES` entries. */
export interface UploadedFile {
  /** The file name the client gave (base name only). */
  name: string;
  /** Where the content was saved ("" when nothing was saved). */
  tmp_name: string;
  /** Bytes saved. */
  size: number;
  /** One of the UPLOAD_ERR_* codes. */
  error: number;
  /** The part's Content-Type. */
  type: string;
}

/** The file was received whole. */
export const UPLOAD_ERR_OK = 0;
/** The field carried no file. */
export const UPLOAD_ERR_NO_FILE = 4;
/** There was no temp directory to save it to. */
export const UPLOAD_ERR_NO_TMP_DIR = 6;
/** The file could not be written. */
export const UPLOAD_ERR_CANT_WRITE = 7;

/** Limits of one multipart body. */
export interface UploadLimits {
  /** Most file parts (PHP's max_file_uploads; Workerman's Request::$maxFileUploads). */
  maxFileUploads: number;
  /** Most ordinary fields (PHP's max_input_vars). */
  maxFields: number;
  /** Most bytes of all ordinary field values together. */
  maxFieldBytes: number;
  /** Directory of the temp files. */
  tmpDir: string;
}

/** A {@link MultipartSink} that saves files to temp files and collects fields. */
export class UploadCollector implements MultipartSink {
  readonly post: Form = {};
  readonly files: Form = {};
  /** Every temp file created, to be removed after the response. */
  readonly tmpFiles: string[] = [];
  private readonly limits: UploadLimits;
  private part: PartInfo | null = null;
  private fileCount = 0;
  private fieldCount = 0;
  private fieldBytes = 0;
  private chunks: Uint8Array[] = [];
  private chunkBytes = 0;
  private fd = -1;
  private path = "";
  private size = 0;
  private error = UPLOAD_ERR_OK;

  constructor(limits: UploadLimits) {
    this.limits = limits;
  }

  begin(part: PartInfo): void {
    this.part = part;
    if (part.filename !== null) {
      if (++this.fileCount > this.limits.maxFileUploads) {
        throw httpError("ERR_HTTP_TOO_MANY_PARTS", `more than ${this.limits.maxFileUploads} files`);
      }
      this.size = 0;
      this.error = UPLOAD_ERR_OK;
      this.path = "";
      this.fd = -1;
    } else {
      if (++this.fieldCount > this.limits.maxFields) {
        throw httpError("ERR_HTTP_TOO_MANY_PARTS", `more than ${this.limits.maxFields} fields`);
      }
      this.chunks = [];
      this.chunkBytes = 0;
    }
  }

  private open(): void {
    this.path = `${this.limits.tmpDir}/workerman.upload.${randomHex(8)}`;
    try {
      this.fd = runtime.files.openWrite(this.path);
      this.tmpFiles.push(this.path);
    } catch {
      this.error = runtime.files.stat(this.limits.tmpDir)?.isDirectory ? UPLOAD_ERR_CANT_WRITE : UPLOAD_ERR_NO_TMP_DIR;
      this.path = "";
    }
  }

  data(bytes: Uint8Array): void {
    const part = this.part;
    if (part === null || part.name === "") return;
    if (part.filename !== null) {
      this.size += bytes.length;
      if (this.error !== UPLOAD_ERR_OK) return;
      if (this.fd === -1) this.open();
      if (this.fd === -1) return;
      try {
        runtime.files.write(this.fd, bytes);
      } catch {
        this.error = UPLOAD_ERR_CANT_WRITE;
        runtime.files.close(this.fd);
        this.fd = -1;
      }
      return;
    }
    this.fieldBytes += bytes.length;
    if (this.fieldBytes > this.limits.maxFieldBytes) {
      throw httpError("ERR_HTTP_BODY_TOO_LARGE", `form fields above ${this.limits.maxFieldBytes} bytes`);
    }
    // The parser's views point into read buffers that are not ours to keep: copy.
    this.chunks.push(bytes.slice());
    this.chunkBytes += bytes.length;
  }

  end(): void {
    const part = this.part;
    this.part = null;
    if (part === null || part.name === "") return;
    if (part.filename === null) {
      setField(this.post, part.name, utf8Decode(concatAll(this.chunks, this.chunkBytes)));
      this.chunks = [];
      return;
    }
    if (this.error === UPLOAD_ERR_OK) {
      if (part.filename === "" && this.size === 0) this.error = UPLOAD_ERR_NO_FILE;
      else if (this.fd === -1) this.open(); // an empty file still gets its (empty) temp file
    }
    if (this.fd !== -1) runtime.files.close(this.fd);
    this.fd = -1;
    const file: UploadedFile = {
      name: part.filename,
      tmp_name: this.error === UPLOAD_ERR_OK ? this.path : "",
      size: this.size,
      error: this.error,
      type: part.type,
    };
    // deno-lint-ignore no-explicit-any
    setField(this.files, part.name, file as any);
  }

  /** Stop: close the file being written and remove every temp file. */
  abort(): void {
    if (this.fd !== -1) runtime.files.close(this.fd);
    this.fd = -1;
    removeAll(this.tmpFiles);
  }
}

/** Remove temp files (those already moved away are simply gone). */
export function removeAll(paths: string[]): void {
  for (const path of paths) runtime.removeFile(path);
  paths.length = 0;
}
