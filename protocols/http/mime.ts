/**
 * MIME types by file extension for static files (the common part of nginx's `mime.types`,
 * which Workerman ships). Text types carry `charset=utf-8`. Unknown extensions get
 * `application/octet-stream`, which `withFile` sends as an attachment (as Workerman does).
 *
 * @module
 */

const TYPES: Record<string, string> = {
  html: "text/html",
  htm: "text/html",
  shtml: "text/html",
  css: "text/css",
  xml: "text/xml",
  txt: "text/plain",
  md: "text/markdown",
  csv: "text/csv",
  js: "text/javascript",
  mjs: "text/javascript",
  json: "application/json",
  map: "application/json",
  webmanifest: "application/manifest+json",
  wasm: "application/wasm",
  gif: "image/gif",
  jpeg: "image/jpeg",
  jpg: "image/jpeg",
  png: "image/png",
  webp: "image/webp",
  avif: "image/avif",
  svg: "image/svg+xml",
  svgz: "image/svg+xml",
  ico: "image/x-icon",
  bmp: "image/x-ms-bmp",
  tif: "image/tiff",
  tiff: "image/tiff",
  woff: "font/woff",
  woff2: "font/woff2",
  ttf: "font/ttf",
  otf: "font/otf",
  eot: "application/vnd.ms-fontobject",
  pdf: "application/pdf",
  zip: "application/zip",
  gz: "application/gzip",
  tar: "application/x-tar",
  "7z": "application/x-7z-compressed",
  rar: "application/x-rar-compressed",
  doc: "application/msword",
  docx: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
  xls: "application/vnd.ms-excel",
  xlsx: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
  ppt: "application/vnd.ms-powerpoint",
  pptx: "application/vnd.openxmlformats-officedocument.presentationml.presentation",
  rss: "application/rss+xml",
  atom: "application/atom+xml",
  mp3: "audio/mpeg",
  ogg: "audio/ogg",
  m4a: "audio/x-m4a",
  wav: "audio/wav",
  mp4: "video/mp4",
  webm: "video/webm",
  mov: "video/quicktime",
  mpeg: "video/mpeg",
  mpg: "video/mpeg",
  avi: "video/x-msvideo",
  flv: "video/x-flv",
  m3u8: "application/vnd.apple.mpegurl",
  ts: "video/mp2t",
};

/** The MIME type for `path`'s extension, or null when it is not known. */
export function mimeType(path: string): string | null {
  const slash = path.lastIndexOf("/");
  const dot = path.lastIndexOf(".");
  if (dot <= slash + 1) return null;
  const ext = path.slice(dot + 1).toLowerCase();
  if (!Object.hasOwn(TYPES, ext)) return null;
  const type = TYPES[ext];
  return type.startsWith("text/") || type === "application/json" || type === "image/svg+xml"
    ? `${type};charset=utf-8`
    : type;
}
