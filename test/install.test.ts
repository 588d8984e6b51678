/**
 * Install and update that never surprise, through our CLI against `clawhub serve`: installs
 * from the lockfile (verified), no downgrades, named major jumps, agent links added and
 * removed, copies for OpenClaw, stale staging cleaned, archives that are not skills refused.
 */
import { lstat, mkdir, readdir, readFile, readlink, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createZip } from "../src/skill/index.ts";
import { createSandbox, OUR_BIN, type Sandbox } from "./helpers/registry.ts";

let sb: Sandbox;
const api = (path: string, init: RequestInit = {}) =>
  fetch(`${sb.server.url}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${sb.adminToken}`, ...(init.headers ?? {}) },
  });
async function publish(slug: string, version: string, body = "Steps.") {
  const fd = new FormData();
  fd.set("payload", JSON.stringify({ slug, version }));
  fd.append(
    "files[]",
    new Blob([`---\nname: ${slug}\ndescription: ${slug} for tests.\n---\n\n${body} ${version}\n`]),
    "SKILL.md",
  );
  const res = await api("/api/v1/skills", { method: "POST", body: fd });
  expect(res.status, await res.clone().text()).toBe(200);
}
const ours = (args: string[], workdir: string) =>
  sb.run(OUR_BIN, [...args, "--workdir", workdir], { env: { CLAWHUB_TOKEN: sb.adminToken } });
const isLink = async (path: string) => (await lstat(path)).isSymbolicLink();
const gone = async (path: string) =>
  lstat(path).then(
    () => false,
    () => true,
  );

beforeAll(async () => {
  sb = await createSandbox({ rateLimits: false });
  await publish("lock-me", "1.0.0");
  await publish("move-me", "1.0.0");
  await publish("move-me", "2.0.0");
  await publish("agent-me", "1.0.0");
}, 60_000);
afterAll(async () => {
  await sb?.close();
});

describe("install and update", () => {
  it("installs exactly the lockfile with no names, and refuses bytes other than those recorded", async () => {
    const w = join(sb.root, "w-lock");
    expect((await ours(["install", "lock-me"], w)).code).toBe(0);
    const lock = JSON.parse(await readFile(join(w, ".clawhub/lock.json"), "utf8"));
    expect(lock.skills["lock-me"]).toMatchObject({
      version: "1.0.0",
      registry: sb.server.url,
      artifact: { kind: "archive" },
      skillFile: { path: "SKILL.md" },
      fileTreeSha256: expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
    });
    // origin.json landed with the files (one rename), with the same records.
    const origin = JSON.parse(
      await readFile(join(w, "skills/lock-me/.clawhub/origin.json"), "utf8"),
    );
    expect(origin.fileTreeSha256).toBe(lock.skills["lock-me"].fileTreeSha256);
    // A fresh checkout: the files are gone, the lockfile stays.
    await rm(join(w, "skills"), { recursive: true });
    const again = await ours(["install"], w);
    expect(again.code, again.stderr).toBe(0);
    expect(await readFile(join(w, "skills/lock-me/SKILL.md"), "utf8")).toContain("1.0.0");
    // A lockfile whose integrity does not match what the registry serves: nothing installed.
    lock.skills["lock-me"].integrity = `sha512-${Buffer.alloc(64).toString("base64")}`;
    delete lock.skills["lock-me"].artifact;
    await writeFile(join(w, ".clawhub/lock.json"), JSON.stringify(lock));
    await rm(join(w, "skills"), { recursive: true });
    await rm(join(sb.home, ".cache"), { recursive: true, force: true });
    const refused = await ours(["install"], w);
    expect(refused.code).toBe(4);
    expect(refused.stderr).toContain("not what the lockfile recorded");
    expect(await gone(join(w, "skills/lock-me"))).toBe(true);
  });

  it("never downgrades on update, and names a major-version jump", async () => {
    const w = join(sb.root, "w-move");
    expect((await ours(["install", "move-me@2.0.0"], w)).code).toBe(0);
    // The registry's latest moves back to 1.0.0 (a re-pointed tag): update stays on 2.0.0.
    const tag = await api("/api/v1/skills/move-me/tags", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ tag: "latest", version: "1.0.0" }),
    });
    expect(tag.status).toBe(200);
    const stay = await ours(["update", "move-me"], w);
    expect(stay.code, stay.stderr).toBe(0);
    expect(stay.stdout).toContain("not downgrading");
    expect(await readFile(join(w, "skills/move-me/SKILL.md"), "utf8")).toContain("2.0.0");
    // Asked for explicitly, the older version is installed.
    expect((await ours(["update", "move-me", "--version", "1.0.0"], w)).code).toBe(0);
    await publish("move-me", "3.0.0");
    const major = await ours(["update", "move-me"], w);
    expect(major.stdout).toContain("1.0.0 -> 3.0.0 (a new major version");
  });

  it("adds agents to an installed skill, drops them with --force, copies for OpenClaw, removes all on uninstall", async () => {
    const w = join(sb.root, "w-agents");
    expect((await ours(["install", "agent-me"], w)).code).toBe(0);
    // A new agent for an installed skill is not an error: the canonical copy moves to
    // .agents/skills and the agent gets its link.
    const claude = await ours(["install", "agent-me", "--agent", "claude"], w);
    expect(claude.code, claude.stderr).toBe(0);
    expect(await isLink(join(w, ".claude/skills/agent-me"))).toBe(true);
    expect(await gone(join(w, "skills/agent-me"))).toBe(true);
    const more = await ours(["install", "agent-me", "--agent", "gemini", "--agent", "openclaw"], w);
    expect(more.code, more.stderr).toBe(0);
    expect(await readlink(join(w, ".gemini/skills/agent-me"))).toBe(
      "../../.agents/skills/agent-me",
    );
    // OpenClaw refuses symlinks: it gets a real copy, and the output says so.
    expect(await isLink(join(w, "skills/agent-me"))).toBe(false);
    expect(await readFile(join(w, "skills/agent-me/SKILL.md"), "utf8")).toContain("agent-me");
    expect(more.stdout).toContain(`copied to ${join(w, "skills/agent-me")}`);
    expect(more.stdout).toContain(`linked ${join(w, ".gemini/skills/agent-me")}`);
    // Asking for agents it already has is an error that says so.
    const same = await ours(["install", "agent-me", "--agent", "claude"], w);
    expect(same.code).toBe(1);
    expect(same.stderr).toContain("already installed for claude");
    // --force with another set: the dropped agents lose their links and copies.
    const forced = await ours(["install", "agent-me", "--force", "--agent", "cursor", "--copy"], w);
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stdout).toContain("copied to");
    for (const dropped of [".claude/skills/agent-me", ".gemini/skills/agent-me", "skills/agent-me"])
      expect(await gone(join(w, dropped)), dropped).toBe(true);
    expect(await isLink(join(w, ".cursor/skills/agent-me"))).toBe(false);
    const list = await ours(["list"], w);
    expect(list.stdout.split("\n")[0]).toMatch(/^SKILL\s+VERSION\s+AGENTS\s+PINNED$/);
    expect(list.stdout).toContain("cursor");
    expect((await ours(["uninstall", "agent-me"], w)).code).toBe(0);
    expect(await gone(join(w, ".cursor/skills/agent-me"))).toBe(true);
    expect(await gone(join(w, ".agents/skills/agent-me"))).toBe(true);
  });

  it("removes staging folders a killed install left behind", async () => {
    const w = join(sb.root, "w-stale");
    const stale = join(w, "skills", ".lock-me.clawhub-tmp-999999999-abcdef");
    await mkdir(join(stale, "half"), { recursive: true });
    expect((await ours(["install", "lock-me"], w)).code).toBe(0);
    expect(await readdir(join(w, "skills"))).toEqual(["lock-me"]);
  });

  it("refuses to unpack an archive that holds no SKILL.md", async () => {
    const zip = join(sb.root, "not-a-skill.zip");
    await writeFile(zip, createZip([{ path: "README.md", data: Buffer.from("hello") }]));
    const r = await sb.run(OUR_BIN, ["skill", "unpack", zip, join(sb.root, "unpacked")]);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain("archive.not-a-skill");
    expect(await gone(join(sb.root, "unpacked"))).toBe(true);
  });
});
