/**
 * The lifecycle commands people expect from the official CLI: delete / undelete, star / unstar,
 * tag, outdated, update --dry-run; destructive ones ask on a terminal and take --yes.
 */
import { cp, readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../src/cli/index.ts";
import { createSandbox, OUR_BIN, type Sandbox } from "./helpers/registry.ts";

const EXAMPLES = fileURLToPath(new URL("../examples/skills", import.meta.url));

describe("lifecycle commands", () => {
  let sb: Sandbox;
  const project = () => join(sb.root, "project");
  const ours = (args: string[]) => sb.run(OUR_BIN, args);
  const inProject = (args: string[]) => sb.run(OUR_BIN, [...args, "--workdir", project()]);
  const publish = (version: string) =>
    ours(["publish", join(sb.root, "src", "text-stats"), "--version", version]);

  /** The CLI in process, with a terminal that answers `answer` to every confirmation. */
  async function onTerminal(argv: string[], answer: boolean) {
    const asked: string[] = [];
    let out = "";
    let err = "";
    const code = await main(argv, {
      io: {
        stdout: { write: (t: string) => (out += t) },
        stderr: { write: (t: string) => (err += t) },
        isTTY: true,
        confirm: async (q) => {
          asked.push(q);
          return answer;
        },
      },
      env: {
        HOME: sb.home,
        XDG_CONFIG_HOME: join(sb.home, ".config"),
        CLAWHUB_REGISTRY: sb.server.url,
        CLAWHUB_TOKEN: sb.adminToken,
        NO_COLOR: "1",
      },
      cwd: sb.root,
    });
    return { code, out, err, asked };
  }

  beforeAll(async () => {
    sb = await createSandbox();
    await cp(join(EXAMPLES, "text-stats"), join(sb.root, "src", "text-stats"), {
      recursive: true,
    });
    expect((await ours(["login", "--token", sb.adminToken])).code).toBe(0);
    expect((await publish("1.0.0")).code).toBe(0);
    expect((await inProject(["install", "text-stats"])).code).toBe(0);
  });
  afterAll(async () => {
    await sb?.close();
  });

  it("outdated and update --dry-run say what would change and write nothing", async () => {
    let r = await inProject(["outdated", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      outdated: 0,
      skills: [{ key: "text-stats", installed: "1.0.0", latest: "1.0.0", status: "current" }],
    });
    expect((await publish("2.0.0")).code).toBe(0);
    r = await inProject(["outdated"]);
    expect(r.stdout).toMatch(/text-stats\s+1\.0\.0\s+2\.0\.0\s+outdated \(major\)/);
    expect((await inProject(["outdated", "--exit-code"])).code).toBe(1);

    const lockBefore = await readFile(join(project(), ".clawhub", "lock.json"), "utf8");
    r = await inProject(["update", "--all", "--dry-run"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("text-stats would update 1.0.0 -> 2.0.0 (a new major version)");
    expect(await readFile(join(project(), ".clawhub", "lock.json"), "utf8")).toBe(lockBefore);
    expect(
      await readFile(join(project(), "skills", "text-stats", ".clawhub", "origin.json"), "utf8"),
    ).toContain('"installedVersion": "1.0.0"');
  });

  it("tag points a tag at a version, and moving one asks first", async () => {
    let r = await ours(["tag", "text-stats", "stable", "1.0.0"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("text-stats@stable -> 1.0.0");
    // Moving it without a terminal and without --yes is refused; nothing moves.
    r = await ours(["tag", "text-stats", "stable", "2.0.0"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--yes");
    const declined = await onTerminal(["tag", "text-stats", "stable", "2.0.0"], false);
    expect(declined.asked[0]).toContain('tag "stable" from 1.0.0 to 2.0.0');
    expect(declined.code).toBe(1);
    expect(
      (await inProject(["install", "text-stats@stable", "--force", "--json"])).stdout,
    ).toContain('"version": "1.0.0"');
    r = await ours(["tag", "text-stats", "stable", "2.0.0", "--yes"]);
    expect(r.stdout).toContain("text-stats@stable -> 2.0.0 (was 1.0.0)");
    r = await ours(["tag", "text-stats", "beta", "9.9.9"]);
    expect(r.code).toBe(1);
  });

  it("stars and unstars, saying when nothing changed", async () => {
    expect((await ours(["star", "text-stats"])).stdout).toContain("OK. Starred text-stats");
    expect((await ours(["star", "text-stats"])).stdout).toContain("already starred");
    const detail = (await (await fetch(`${sb.server.url}/api/v1/skills/text-stats`)).json()) as {
      skill: { stats: { stars: number } };
    };
    expect(detail.skill.stats.stars).toBe(1);
    expect((await ours(["unstar", "text-stats"])).stdout).toContain("OK. Unstarred text-stats");
    expect((await ours(["unstar", "text-stats"])).stdout).toContain("was not starred");
  });

  it("delete asks on a terminal, refuses without one unless --yes, and undelete restores", async () => {
    const declined = await onTerminal(["delete", "text-stats"], false);
    expect(declined.asked[0]).toContain(`Delete text-stats from ${sb.server.url}?`);
    expect(declined.code).toBe(1);
    expect((await fetch(`${sb.server.url}/api/v1/skills/text-stats`)).status).toBe(200);

    const noTerminal = await ours(["delete", "text-stats"]);
    expect(noTerminal.code).toBe(2);
    expect(noTerminal.stderr).toContain("Pass --yes");
    expect((await fetch(`${sb.server.url}/api/v1/skills/text-stats`)).status).toBe(200);

    const accepted = await onTerminal(["delete", "text-stats"], true);
    expect(accepted.code, accepted.err).toBe(0);
    expect((await fetch(`${sb.server.url}/api/v1/skills/text-stats`)).status).toBe(404);
    const outdated = await inProject(["outdated", "--json"]);
    expect(JSON.parse(outdated.stdout).skills[0]).toMatchObject({ status: "unavailable" });

    expect((await ours(["undelete", "text-stats"])).stdout).toContain("OK. Restored text-stats");
    expect((await fetch(`${sb.server.url}/api/v1/skills/text-stats`)).status).toBe(200);
    expect((await ours(["delete", "text-stats", "--yes"])).code).toBe(0);
    expect((await ours(["undelete", "text-stats"])).code).toBe(0);
  });
});
