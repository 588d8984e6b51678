import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterAll, describe, expect, it } from "vitest";
import { extractZip, hashFolder } from "../src/skill/index.ts";
import { OUR_BIN } from "./helpers/registry.ts";

interface Started {
  child: ChildProcess;
  url: string;
  token: string | undefined;
}

/** Starts `clawhub serve` as a real child process and reads its URL from the --json line. */
function startServe(dataDir: string): Promise<Started> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        OUR_BIN,
        "serve",
        "--port",
        "0",
        // The registry is what this test kills mid-publish; no hub (and no operator identity
        // written to the user's config directory).
        "--no-hub",
        "--data",
        dataDir,
        "--json",
        "--embedder",
        "none",
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let out = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split("\n")[0];
      if (out.includes("\n") && line) {
        const info = JSON.parse(line) as { url: string; bootstrap: { token: string } | null };
        resolve({ child, url: info.url, token: info.bootstrap?.token });
      }
    });
    child.once("exit", (code) => reject(new Error(`serve exited early (${code}): ${out}`)));
  });
}

const work: string[] = [];
afterAll(async () => {
  for (const d of work) await rm(d, { recursive: true, force: true });
});

describe("kill -9 during publishes", () => {
  it("leaves no corrupt database, no orphan or partial version, no partial blob, and keeps acknowledged publishes", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "clawhub-crash-"));
    work.push(dataDir);
    const first = await startServe(dataDir);
    const token = first.token ?? "";
    const acknowledged: string[] = [];
    const body = (i: number) => {
      const fd = new FormData();
      fd.set("payload", JSON.stringify({ slug: `crash-skill-${i}`, version: "1.0.0" }));
      fd.append(
        "files[]",
        new Blob([
          `---\nname: crash-skill-${i}\ndescription: Crash test ${i}.\n---\n\nBody ${i}.\n`,
        ]),
        "SKILL.md",
      );
      for (let f = 0; f < 6; f++) {
        fd.append(
          "files[]",
          new Blob([createHash("sha512").update(`${i}-${f}`).digest("hex").repeat(2000)]),
          `references/part-${f}.md`,
        );
      }
      return fd;
    };
    // Many more than can finish before the kill lands, so some are always in flight.
    const publishes = Array.from({ length: 150 }, (_, i) =>
      fetch(`${first.url}/api/v1/skills`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}` },
        body: body(i),
      })
        .then((r) => {
          if (r.status === 200) acknowledged.push(`crash-skill-${i}`);
          return r.status;
        })
        .catch(() => "killed"),
    );
    // Kill once some publishes have been acknowledged and others are still in flight.
    while (acknowledged.length < 3) await new Promise((r) => setTimeout(r, 5));
    first.child.kill("SIGKILL");
    const statuses = await Promise.all(publishes);
    expect(statuses).toContain("killed");
    await new Promise((r) =>
      first.child.exitCode !== null || first.child.signalCode !== null
        ? r(undefined)
        : first.child.once("exit", r),
    );

    // The database file is intact.
    const db = new DatabaseSync(join(dataDir, "registry.db"));
    expect(db.prepare("PRAGMA integrity_check").get()).toEqual({ integrity_check: "ok" });
    const orphans = db
      .prepare(
        "SELECT v.version, v.file_count, (SELECT count(*) FROM version_files f WHERE f.version_id = v.id) AS n FROM versions v",
      )
      .all() as Array<{ file_count: number; n: number }>;
    for (const v of orphans) expect(v.n).toBe(v.file_count);
    db.close();

    // No partial blob under a final name: every blob's content hashes to its name.
    const blobRoot = join(dataDir, "blobs");
    for (const sub of await readdir(blobRoot)) {
      for (const name of await readdir(join(blobRoot, sub))) {
        if (name.includes(".tmp-")) continue; // interrupted writes stay under temporary names
        const bytes = await readFile(join(blobRoot, sub, name));
        expect(createHash("sha256").update(bytes).digest("hex")).toBe(sub + name);
      }
    }

    // Restart: every acknowledged publish is there, and every visible version is whole.
    const second = await startServe(dataDir);
    try {
      const list = (await (await fetch(`${second.url}/api/v1/skills?limit=200`)).json()) as {
        items: Array<{ slug: string }>;
      };
      const visible = list.items.map((i) => i.slug);
      for (const slug of acknowledged) expect(visible).toContain(slug);
      for (const slug of visible) {
        const detail = (await (
          await fetch(`${second.url}/api/v1/skills/${slug}/versions/1.0.0`)
        ).json()) as { version: { fingerprint: string; files: unknown[] } };
        expect(detail.version.files).toHaveLength(7);
        const zip = Buffer.from(
          await (await fetch(`${second.url}/api/v1/download?slug=${slug}`)).arrayBuffer(),
        );
        const out = join(dataDir, "check", slug);
        await extractZip(zip, out);
        expect((await hashFolder(out)).fingerprint).toBe(detail.version.fingerprint);
      }
      // What was lost can simply be published again.
      const missing = Array.from({ length: 60 }, (_, i) => `crash-skill-${i}`).find(
        (s) => !visible.includes(s),
      );
      if (missing) {
        const i = Number(missing.split("-").pop());
        const again = await fetch(`${second.url}/api/v1/skills`, {
          method: "POST",
          headers: { authorization: `Bearer ${token}` },
          body: body(i),
        });
        expect(again.status).toBe(200);
      }
    } finally {
      second.child.kill("SIGTERM");
    }
  }, 60_000);
});
