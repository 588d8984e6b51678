/**
 * A publish's multipart body (a `payload` field and `files[]` parts), built whole as bytes: the
 * shape the official CLI sends, without a FormData of Blobs (which undici streams at a CPU cost
 * a benchmark would count against the server).
 */
export function publishBody(
  payload: Record<string, unknown>,
  files: Array<{ path: string; content: string | Buffer }>,
  boundary = "----clawhub-test-boundary",
): { body: Buffer; type: string } {
  const parts: Buffer[] = [
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="payload"\r\n\r\n${JSON.stringify(payload)}\r\n`,
    ),
  ];
  for (const f of files)
    parts.push(
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="files[]"; filename="${f.path}"\r\nContent-Type: application/octet-stream\r\n\r\n`,
      ),
      Buffer.from(f.content),
      Buffer.from("\r\n"),
    );
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(parts), type: `multipart/form-data; boundary=${boundary}` };
}
