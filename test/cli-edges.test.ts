/**
 * The rough edges a newcomer hit, through the CLI: URLs as people type them, a URL that is not
 * a registry, tokens kept out of shell history, local admin recovery, numeric flags, shell
 * completion, `--version --json`, and a description for every command and group.
 */
import { execFile } from "node:child_process";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { allCommands } from "../src/cli/commands/index.ts";
import { createSandbox, OUR_BIN, type Sandbox } from "./helpers/registry.ts";

let sb: Sandbox;
let notRegistry: Server;
let notRegistryUrl: string;
const ours = (args: string[], env: Record<string, string> = {}, input?: string) =>
  sb.run(OUR_BIN, args, { env, ...(input !== undefined ? { input } : {}) });

beforeAll(async () => {
  sb = await createSandbox({ rateLimits: false });
  // Some other web app: HTML everywhere, 404 for what it does not know.
  notRegistry = createServer((req, res) => {
    res.writeHead(req.url === "/" ? 200 : 404, { "content-type": "text/html" });
    res.end("<!doctype html><title>Not here</title>");
  });
  await new Promise<void>((resolve) => notRegistry.listen(0, "127.0.0.1", resolve));
  notRegistryUrl = `http://127.0.0.1:${(notRegistry.address() as AddressInfo).port}`;
}, 60_000);
afterAll(async () => {
  await sb?.close();
  await new Promise<void>((resolve) => notRegistry.close(() => resolve()));
});

describe("registry URLs", () => {
  it("accepts host:port without a scheme and a URL copied with /api/v1", async () => {
    const port = new URL(sb.server.url).port;
    for (const registry of [`127.0.0.1:${port}`, `${sb.server.url}/api/v1`, `${sb.server.url}/`]) {
      const r = await ours(["whoami", "--registry", registry], { CLAWHUB_TOKEN: sb.adminToken });
      expect(r.code, `${registry}: ${r.stderr}`).toBe(0);
      expect(r.stdout.trim()).toBe("admin");
    }
  });

  it("says when a URL is not a ClawHub registry, with exit 3", async () => {
    for (const args of [
      ["search", "anything", "--registry", notRegistryUrl],
      ["inspect", "some-skill", "--registry", notRegistryUrl],
    ]) {
      const r = await ours(args);
      expect(r.code, r.stderr).toBe(3);
      expect(r.stderr).toContain(
        `${notRegistryUrl} is not a ClawHub registry (GET /.well-known/clawhub.json returned 404 text/html)`,
      );
    }
  });

  it("names the skill and the registry when a skill is missing", async () => {
    const r = await ours(["inspect", "no-such-skill"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`skill \`no-such-skill\` not found on ${sb.server.url}`);
  });
});

describe("tokens and admin recovery", () => {
  it("logs in with --token-stdin, and refuses to guess without a token or a terminal", async () => {
    const r = await ours(["login", "--token-stdin"], {}, `${sb.adminToken}\n`);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("Logged in as @admin");
    const none = await ours(["login"]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("--token-stdin");
    const empty = await ours(["login", "--token-stdin"], {}, "\n");
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain("the token is empty");
  });

  it("issues a new admin token from the data directory, re-enabling a disabled admin", async () => {
    const data = join(sb.root, "data");
    const r = await ours(["admin", "reset-token", "--data", data, "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const { handle, token } = JSON.parse(r.stdout) as { handle: string; token: string };
    expect(handle).toBe("admin");
    const who = await ours(["whoami"], { CLAWHUB_TOKEN: token });
    expect(who.stdout.trim()).toBe("admin");
    const missing = await ours(["admin", "reset-token", "--data", join(sb.root, "nowhere")]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("no registry database in");
  });
});

describe("flags, completion and help", () => {
  it.each([
    [["search", "x", "--limit", "0"], "--limit must be a whole number from 1 to 200"],
    [["explore", "--limit", "abc"], "--limit must be a whole number from 1 to 200"],
    [["serve", "--port", "70000"], "--port must be a whole number from 0 to 65535"],
    [
      ["serve", "--port", "3000", "--hub-port", "-1"],
      "--hub-port must be a whole number from 0 to 65535",
    ],
    [["runs", "list", "--limit", "1.5"], "--limit must be a whole number from 1 to 1000"],
    [
      ["admin", "token", "create", "admin", "--expires-days", "0"],
      "--expires-days must be a whole number from 1 to 3650",
    ],
    [["hub", "--route-margin", ""], "--route-margin must be between 0 and 1"],
    [["hub", "--heartbeat", "5"], "--heartbeat must be a whole number from 50 to 600000"],
    [["hub", "--max-running-runs", "10"], "--max-running-runs takes two values"],
    [
      ["hub", "--max-running-runs", "10,0"],
      "--max-running-runs must be a whole number from 1 to 1000000",
    ],
    [["hub", "--max-peer-buffer", "1"], "--max-peer-buffer"],
    // Plaintext never goes beyond this machine: --insecure is refused on a non-loopback address.
    [["hub", "--host", "0.0.0.0", "--port", "0", "--insecure"], "--insecure is refused on 0.0.0.0"],
    [
      ["serve", "--host", "10.1.2.3", "--port", "0", "--hub-port", "0", "--insecure"],
      "--insecure is refused on 10.1.2.3",
    ],
    [["hub", "--tls", "--insecure"], "--tls and --insecure contradict each other"],
  ])("refuses %j with exit 2 and the allowed range", async (args, message) => {
    const r = await ours(args, { CLAWHUB_TOKEN: sb.adminToken });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(message);
  });

  it("prints completion scripts that bash accepts and that know the commands", async () => {
    const r = await ours(["completion", "bash"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("complete -o default -F _clawhub clawhub");
    // bash runs it and completes `clawhub org a` to `add`.
    const completed = await new Promise<string>((resolve, reject) => {
      execFile(
        "bash",
        [
          "-c",
          `${r.stdout}\nCOMP_WORDS=(clawhub org a); COMP_CWORD=2; _clawhub; echo "\${COMPREPLY[*]}"`,
        ],
        (error, stdout) => (error ? reject(error) : resolve(stdout.trim())),
      );
    });
    expect(completed).toBe("add");
    // Flags after a positional, global options (with their values) before the command, values
    // of --agent, and the shells of `completion`.
    const complete = (words: string[]) =>
      new Promise<string>((resolve, reject) => {
        execFile(
          "bash",
          [
            "-c",
            `${r.stdout}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${words.length - 1}; _clawhub; echo "\${COMPREPLY[*]}"`,
          ],
          (error, stdout) => (error ? reject(error) : resolve(stdout.trim())),
        );
      });
    expect(await complete(["clawhub", "install", "my-skill", "--ag"])).toBe("--agent");
    expect(await complete(["clawhub", "--registry", "http://x", "inst"])).toBe("install");
    expect(await complete(["clawhub", "install", "x", "--agent", "cl"])).toBe("claude");
    expect((await complete(["clawhub", "install", "--agent", ""])).split(" ")).toContain(
      "openclaw",
    );
    expect(await complete(["clawhub", "completion", ""])).toBe("bash zsh fish");
    expect(await complete(["clawhub", "--workdir", "/tmp", "runs", "re"])).toBe("resume");
    for (const shell of ["zsh", "fish"]) {
      const s = await ours(["completion", shell]);
      expect(s.code).toBe(0);
      expect(s.stdout).toContain("clawhub");
    }
    expect((await ours(["completion", "tcsh"])).code).toBe(2);
  });

  it("prints a bare group's help alone, exit 0, and lists --version in --help", async () => {
    for (const group of [["org"], ["skill"], ["admin"], ["admin", "user"], ["flow"], ["runs"]]) {
      for (const json of [[], ["--json"]]) {
        const r = await ours([...group, ...json]);
        expect(r.code, `${group.join(" ")}: ${r.stderr}`).toBe(0);
        expect(r.stdout + r.stderr).toContain(`Usage: clawhub ${group.join(" ")}`);
        expect(r.stdout + r.stderr).not.toContain("outputHelp");
      }
    }
    expect((await ours(["--help"])).stdout).toContain("-V, --version");
  });

  it("says a refused token was refused instead of answering as anonymous", async () => {
    for (const args of [
      ["inspect", "@acme/private"],
      ["search", "anything"],
    ]) {
      const r = await ours(args, { CLAWHUB_TOKEN: "clh_bogus" });
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toContain("invalid token");
      expect(r.stderr).toContain("clawhub login");
    }
  });

  it("answers --version with --json", async () => {
    const r = await ours(["--version", "--json"]);
    expect(JSON.parse(r.stdout)).toEqual({ version: expect.stringMatching(/^\d+\.\d+\.\d+/) });
  });

  it("describes every command and every group in --help", async () => {
    for (const spec of await allCommands()) {
      expect(spec.summary.length, spec.path.join(" ")).toBeGreaterThan(15);
      expect(spec.summary, spec.path.join(" ")).not.toBe(spec.path.at(-1));
    }
    const groups = new Set(
      (await allCommands()).filter((s) => s.path.length > 1).map((s) => s.path[0] as string),
    );
    for (const group of groups) {
      const r = await ours([group, "--help"]);
      const line = r.stdout.split("\n").find((l) => l.startsWith("Usage:"));
      expect(line, group).toBeDefined();
      const top = await ours(["--help"]);
      // A group that is also a command (`hub`) shows its options too.
      const row = top.stdout
        .split("\n")
        .find((l) => new RegExp(`^  ${group}(?: \\[options\\])?\\s{2,}`).test(l));
      expect(row, group).toBeDefined();
      // The group's row says more than its own name.
      expect(row?.trim().split(/\s{2,}/)[1]?.length ?? 0, group).toBeGreaterThan(15);
    }
  });
});

describe("publish and init", () => {
  const skill = async (name: string, text: string) => {
    const { mkdir, writeFile } = await import("node:fs/promises");
    const dir = join(sb.root, "src", name);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, "SKILL.md"), text);
    return dir;
  };
  const asAdmin = { CLAWHUB_TOKEN: "" };
  beforeAll(() => {
    asAdmin.CLAWHUB_TOKEN = sb.adminToken;
  });

  it("shows the lenient warnings it published with, also in --json, and --strict refuses them", async () => {
    const dir = await skill(
      "no-name-skill",
      "---\ndescription: Publishes without a name field.\n---\n\nBody.\n",
    );
    const r = await ours(["publish", dir, "--version", "1.0.0"], asAdmin);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/warning: SKILL\.md(:\d+)?: .*\[name\.[a-z-]+\]/);
    const json = await ours(["publish", dir, "--version", "1.0.1", "--json"], asAdmin);
    const data = JSON.parse(json.stdout) as { warnings: Array<{ rule: string }> };
    expect(data.warnings.map((w) => w.rule)).toEqual(
      expect.arrayContaining([expect.stringMatching(/^name\./)]),
    );
    const strict = await ours(["publish", dir, "--version", "1.0.2", "--strict"], asAdmin);
    expect(strict.code).toBe(1);
    expect(strict.stderr).toContain("no-name-skill");
  });

  it("warns when the skill init description was never edited", async () => {
    const dir = join(sb.root, "src", "fresh-template");
    expect((await ours(["skill", "init", dir])).code).toBe(0);
    const r = await ours(["publish", dir, "--version", "1.0.0"], asAdmin);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("[description.template]");
  });

  it("refuses at init the names publish would refuse", async () => {
    for (const [name, why] of [
      ["ab", "3-96 characters"],
      ["admin", "reserved"],
    ] as const) {
      const r = await ours(["skill", "init", join(sb.root, "init", name)]);
      expect(r.code, name).toBe(2);
      expect(r.stderr).toContain(`"${name}" cannot be published`);
      expect(r.stderr).toContain(why);
    }
  });

  it("normalises slugs given in capitals, on publish and inspect", async () => {
    const dir = await skill(
      "case-skill",
      "---\nname: case-skill\ndescription: A skill about letter case.\n---\n\nBody.\n",
    );
    const r = await ours(["publish", dir, "--slug", "Case-Skill", "--version", "1.0.0"], asAdmin);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("Published case-skill@1.0.0");
    const inspect = await ours(["inspect", "CASE-SKILL", "--json"]);
    expect(inspect.code, inspect.stderr).toBe(0);
    expect(inspect.stdout).toContain('"slug": "case-skill"');
  });
});

describe("sync and version numbers per owner", () => {
  it("numbers versions per owner and never republishes a skill installed from another owner", async () => {
    const { mkdir, writeFile } = await import("node:fs/promises");
    const created = await ours(["admin", "user", "create", "bob"], {
      CLAWHUB_TOKEN: sb.adminToken,
    });
    expect(created.code, created.stderr).toBe(0);
    const t = await ours(["admin", "token", "create", "bob", "--json"], {
      CLAWHUB_TOKEN: sb.adminToken,
    });
    const bob = (JSON.parse(t.stdout) as { token: string }).token;
    const write = async (dir: string, name: string) => {
      await mkdir(dir, { recursive: true });
      await writeFile(
        join(dir, "SKILL.md"),
        `---\nname: ${name}\ndescription: ${name} for the sync test.\n---\n\nBody of ${dir}.\n`,
      );
    };
    // bob publishes first, at 5.0.0: the bare slug is bob's.
    await write(join(sb.root, "bob", "same-name"), "same-name");
    expect(
      (
        await ours(["publish", join(sb.root, "bob", "same-name"), "--version", "5.0.0"], {
          CLAWHUB_TOKEN: bob,
        })
      ).code,
    ).toBe(0);
    // admin's own skill of that slug starts at its own 1.0.0, not bob's 5.0.1.
    await write(join(sb.root, "admin", "same-name"), "same-name");
    const mine = await ours(["publish", join(sb.root, "admin", "same-name")], {
      CLAWHUB_TOKEN: sb.adminToken,
    });
    expect(mine.code, mine.stderr).toBe(0);
    expect(mine.stdout).toContain("Published same-name@1.0.0");
    // A workdir holding bob's skill (installed) and a local one: sync publishes only the local one.
    const work = join(sb.root, "sync-work");
    await write(join(sb.root, "bob", "bobs-tool"), "bobs-tool");
    expect(
      (
        await ours(["publish", join(sb.root, "bob", "bobs-tool"), "--version", "1.0.0"], {
          CLAWHUB_TOKEN: bob,
        })
      ).code,
    ).toBe(0);
    expect((await ours(["install", "bobs-tool", "--workdir", work])).code).toBe(0);
    await write(join(work, "skills", "my-local"), "my-local");
    const sync = await ours(["sync", "--workdir", work], { CLAWHUB_TOKEN: sb.adminToken });
    expect(sync.code, sync.stderr).toBe(0);
    expect(sync.stdout).toContain("skipped    bobs-tool@1.0.0 (installed from @bob)");
    expect(sync.stdout).toContain("published  my-local@1.0.0");
  });
});
