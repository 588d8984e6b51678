/** What a published file may be called, and the content type it is served with. */
import { ClawHubError } from "../errors/index.ts";
import type { SkillLimits } from "../skill/index.ts";

const TEXT_TYPES: Record<string, string> = {
  md: "text/markdown",
  markdown: "text/markdown",
  txt: "text/plain",
  json: "application/json",
  yaml: "application/yaml",
  yml: "application/yaml",
  toml: "application/toml",
  js: "text/javascript",
  mjs: "text/javascript",
  cjs: "text/javascript",
  ts: "text/typescript",
  py: "text/x-python",
  sh: "text/x-shellscript",
  bash: "text/x-shellscript",
  html: "text/html",
  css: "text/css",
  svg: "image/svg+xml",
  csv: "text/csv",
  xml: "application/xml",
  sql: "application/sql",
};

/** A file's content type from its extension (text types first, as the registry serves text). */
export function contentTypeOf(path: string): string {
  const ext = path.split(".").pop()?.toLowerCase() ?? "";
  return TEXT_TYPES[ext] ?? "application/octet-stream";
}

/** Refuses unsafe or hidden publish paths with a clear message. */
export function checkPublishPath(path: string, limits: SkillLimits): void {
  const bad = (why: string) =>
    new ClawHubError("INVALID_ARGUMENT", `invalid file path "${path.slice(0, 200)}": ${why}`);
  if (typeof path !== "string" || path === "") throw bad("empty");
  if (Buffer.byteLength(path) > limits.maxPathBytes) throw bad("too long");
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
  if (/[\u0000-\u001f\u007f]/.test(path)) throw bad("control characters");
  if (path.includes("\\")) throw bad("backslash");
  if (path.startsWith("/") || /^[A-Za-z]:/.test(path)) throw bad("absolute path");
  const segments = path.split("/");
  if (segments.includes("..")) throw bad("path traversal");
  if (segments.some((s) => s === "" || s === ".")) throw bad("empty or '.' segment");
  if (segments.some((s) => s.startsWith("."))) throw bad("hidden files are not published");
  if (segments.some((s) => Buffer.byteLength(s) > limits.maxSegmentBytes))
    throw bad("a segment is too long");
}
