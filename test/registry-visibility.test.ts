/**
 * Orgs and private skills, through the CLI and the HTTP API: a skill a reader may not see is
 * absent from every read endpoint (search, listings, counts, detail, versions, files, resolve,
 * download, stars, telemetry), for an outsider's token and for no token at all.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSandbox, OFFICIAL_BIN, OUR_BIN, type Sandbox } from "./helpers/registry.ts";

let sb: Sandbox;
const tokens: Record<string, string> = {};
const api = (path: string, init: RequestInit & { token?: string | undefined } = {}) => {
  const headers = new Headers(init.headers);
  if (init.token) headers.set("authorization", `Bearer ${init.token}`);
  if (typeof init.body === "string") headers.set("content-type", "application/json");
  return fetch(`${sb.server.url}${path}`, { ...init, headers });
};
const as = (who: string, args: string[]) =>
  sb.run(OUR_BIN, args, { env: { CLAWHUB_TOKEN: tokens[who] ?? "" } });

async function skillDir(name: string, description: string): Promise<string> {
  const dir = join(sb.root, "src", name);
  await mkdir(dir, { recursive: true });
  await writeFile(
    join(dir, "SKILL.md"),
    `---\nname: ${name}\ndescription: ${description}\n---\n\n# ${name}\n\nSteps.\n`,
  );
  return dir;
}

beforeAll(async () => {
  sb = await createSandbox({ rateLimits: false });
  tokens.admin = sb.adminToken;
  for (const handle of ["alice", "bob", "rita", "eve"]) {
    const r = await as("admin", ["admin", "user", "create", handle]);
    expect(r.code, r.stderr).toBe(0);
    const t = await as("admin", ["admin", "token", "create", handle, "--json"]);
    tokens[handle] = (JSON.parse(t.stdout) as { token: string }).token;
  }
  // alice owns @acme; bob publishes there; rita only reads; eve is an outsider.
  expect((await as("alice", ["org", "create", "acme"])).code).toBe(0);
  expect((await as("alice", ["org", "add", "acme", "bob"])).code).toBe(0);
  expect((await as("alice", ["org", "add", "acme", "rita", "--role", "reader"])).code).toBe(0);
  const pub = async (who: string, name: string, desc: string, extra: string[] = []) => {
    const r = await as(who, [
      "publish",
      await skillDir(name, desc),
      "--version",
      "1.0.0",
      ...extra,
    ]);
    expect(r.code, r.stderr).toBe(0);
  };
  await pub("alice", "ledger-open", "Reconcile ledger entries in public.");
  // The org's default (org-only) applies without --visibility.
  await pub("bob", "ledger-team", "Reconcile ledger entries for the team.", ["--owner", "acme"]);
  await pub("bob", "ledger-secret", "Reconcile ledger entries privately.", [
    "--slug",
    "@acme/ledger-secret",
    "--visibility",
    "private",
  ]);
  await pub("alice", "ledger-mine", "Reconcile my own ledger entries.", [
    "--visibility",
    "private",
  ]);
}, 120_000);
afterAll(async () => {
  await sb?.close();
});

const HIDDEN = [
  ["acme", "ledger-team"],
  ["acme", "ledger-secret"],
  ["alice", "ledger-mine"],
] as const;

/** Every read endpoint for one skill, with and without its owner named. */
function readsOf(owner: string, slug: string): string[] {
  const o = `ownerHandle=${owner}`;
  return [
    `/api/v1/skills/${slug}`,
    `/api/v1/skills/${slug}?${o}`,
    `/api/v1/skills/${slug}/versions?${o}`,
    `/api/v1/skills/${slug}/versions/1.0.0?${o}`,
    `/api/v1/skills/${slug}/file?path=SKILL.md&${o}`,
    `/api/v1/skills/${slug}/moderation?${o}`,
    `/api/v1/skills/${slug}/verify?${o}`,
    `/api/v1/resolve?slug=${slug}&hash=${"0".repeat(64)}&${o}`,
    `/api/v1/download?slug=${slug}&${o}`,
    `/api/v1/download?slug=${slug}`,
    `/api/v1/resolve?slug=${slug}&selector=latest&${o}`,
    // What OpenClaw reads.
    `/api/v1/skills/${slug}/install?${o}`,
    `/api/v1/skills/${slug}/card?${o}&version=1.0.0`,
  ];
}

describe("private skills and orgs", () => {
  it("shows a hidden skill to no outsider and no anonymous reader, on any read endpoint", async () => {
    for (const who of ["eve", undefined]) {
      const token = who ? tokens[who] : undefined;
      for (const [owner, slug] of HIDDEN) {
        for (const path of readsOf(owner, slug)) {
          const res = await api(path, { token });
          // Exactly what a skill that does not exist answers: nothing reveals it is there.
          expect(res.status, `${who ?? "anonymous"} ${path}`).toBe(404);
          expect(await res.text()).toBe("Skill not found");
        }
        for (const [method, path] of [
          ["POST", `/api/v1/stars/${slug}?ownerHandle=${owner}`],
          ["POST", `/api/v1/skills/${slug}/tags?ownerHandle=${owner}`],
          ["POST", `/api/v1/skills/${slug}/visibility?ownerHandle=${owner}`],
          ["DELETE", `/api/v1/skills/${slug}?ownerHandle=${owner}`],
        ] as const) {
          if (!token) continue;
          const res = await api(path, {
            method,
            token,
            body: JSON.stringify({ tag: "x", version: "1.0.0", visibility: "public" }),
          });
          expect(res.status, `${who} ${method} ${path}`).toBe(404);
        }
      }
      const trending = (await (await api("/api/v1/trending?limit=100", { token })).json()) as {
        items: Array<{ slug: string }>;
      };
      expect(trending.items.map((i) => i.slug)).toEqual(["ledger-open"]);
      const verdicts = (await (
        await api("/api/v1/skills/-/security-verdicts", {
          method: "POST",
          token,
          body: JSON.stringify({
            items: HIDDEN.map(([owner, slug]) => ({ slug, ownerHandle: owner, version: "1.0.0" })),
          }),
        })
      ).json()) as { items: Array<{ error?: { code: string }; slug: string | null }> };
      expect(verdicts.items.map((v) => [v.slug, v.error?.code])).toEqual(
        HIDDEN.map(() => [null, "skill_not_found"]),
      );
      const search = (await (
        await api("/api/v1/search?q=reconcile%20ledger%20entries&limit=50", { token })
      ).json()) as { results: Array<{ slug: string }> };
      expect(search.results.map((r) => r.slug)).toEqual(["ledger-open"]);
      const list = (await (await api("/api/v1/skills?limit=200", { token })).json()) as {
        items: Array<{ slug: string }>;
      };
      expect(list.items.map((i) => i.slug)).toEqual(["ledger-open"]);
      const byOrg = (await (await api("/api/v1/skills?ownerHandle=acme", { token })).json()) as {
        items: unknown[];
      };
      expect(byOrg.items).toEqual([]);
      const status = (await (await api("/api/v1/search/status", { token })).json()) as {
        documents: number;
        embedded: number;
        pending: number;
      };
      expect(status.documents).toBe(1);
      expect(status.embedded + status.pending).toBe(1);
    }
  });

  it("does not count installs of a hidden skill reported by an outsider", async () => {
    const r = await api("/api/cli/telemetry/install", {
      method: "POST",
      token: tokens.eve,
      body: JSON.stringify({ slug: "ledger-team", ownerHandle: "acme" }),
    });
    expect(r.status).toBe(200);
    const detail = (await (
      await api("/api/v1/skills/ledger-team?ownerHandle=acme", { token: tokens.bob })
    ).json()) as { skill: { stats: { installs: number } } };
    expect(detail.skill.stats.installs).toBe(0);
  });

  it("lets readers see org-only skills, and only publishers the private ones", async () => {
    const slugs = async (who: string) =>
      (
        (await (await api("/api/v1/skills?limit=200", { token: tokens[who] })).json()) as {
          items: Array<{ slug: string; visibility: string }>;
        }
      ).items
        .map((i) => `${i.slug}:${i.visibility}`)
        .sort();
    expect(await slugs("rita")).toEqual(["ledger-open:public", "ledger-team:org"]);
    expect(await slugs("bob")).toEqual([
      "ledger-open:public",
      "ledger-secret:private",
      "ledger-team:org",
    ]);
    // alice owns @acme (so she publishes there) and her own private skill.
    expect(await slugs("alice")).toEqual([
      "ledger-mine:private",
      "ledger-open:public",
      "ledger-secret:private",
      "ledger-team:org",
    ]);
    expect((await slugs("admin")).length).toBe(4);
    const secret = await api("/api/v1/download?slug=ledger-secret&ownerHandle=acme", {
      token: tokens.rita,
    });
    expect(secret.status).toBe(404);
    const team = await api("/api/v1/download?slug=ledger-team&ownerHandle=acme", {
      token: tokens.rita,
    });
    expect(team.status).toBe(200);
    const found = (await (
      await api("/api/v1/search?q=reconcile%20ledger%20entries", { token: tokens.rita })
    ).json()) as { results: Array<{ slug: string }> };
    expect(found.results.map((r) => r.slug).sort()).toEqual(["ledger-open", "ledger-team"]);
  });

  it("installs an org skill with our CLI for members only, and names it when refused", async () => {
    const workdir = join(sb.root, "work-rita");
    const ok = await sb.run(OUR_BIN, ["install", "@acme/ledger-team", "--workdir", workdir], {
      env: { CLAWHUB_TOKEN: tokens.rita ?? "" },
    });
    expect(ok.code, ok.stderr).toBe(0);
    const refused = await sb.run(
      OUR_BIN,
      ["install", "@acme/ledger-team", "--workdir", join(sb.root, "work-eve")],
      { env: { CLAWHUB_TOKEN: tokens.eve ?? "" } },
    );
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("ledger-team");
  });

  it("manages members: roles change, publishing needs a publisher, the last owner stays", async () => {
    const denied = await as("rita", [
      "publish",
      await skillDir("ledger-rita", "Rita's ledger notes."),
      "--owner",
      "acme",
    ]);
    expect(denied.code).toBe(1);
    expect(denied.stderr).toContain("may not publish to @acme");
    // Only owners manage members; the last owner can neither leave nor be demoted.
    expect((await as("bob", ["org", "add", "acme", "eve"])).stderr).toContain("only owners");
    const leave = await as("alice", ["org", "remove", "acme", "alice"]);
    expect(leave.code).toBe(1);
    expect(leave.stderr).toContain("without an owner");
    const demote = await as("alice", ["org", "add", "acme", "alice", "--role", "reader"]);
    expect(demote.stderr).toContain("without an owner");
    const members = await as("rita", ["org", "list", "acme", "--json"]);
    expect(
      (JSON.parse(members.stdout) as { members: Array<{ handle: string; role: string }> }).members,
    ).toEqual([
      { handle: "alice", role: "owner", since: expect.any(Number) },
      { handle: "bob", role: "publisher", since: expect.any(Number) },
      { handle: "rita", role: "reader", since: expect.any(Number) },
    ]);
    // An outsider does not learn that the org exists, nor its members.
    const outsider = await as("eve", ["org", "list", "acme"]);
    expect(outsider.code).toBe(1);
    expect(outsider.stderr).toContain("org @acme not found");
    expect((await as("eve", ["org", "list"])).stdout).toContain("No orgs");
    // Bad values are usage errors with the allowed values.
    const bad = await as("alice", ["org", "add", "acme", "eve", "--role", "boss"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("owner, publisher, reader");
    // A member who leaves loses access at once.
    expect((await as("rita", ["org", "remove", "acme", "rita"])).code).toBe(0);
    const gone = await api("/api/v1/skills/ledger-team?ownerHandle=acme", { token: tokens.rita });
    expect(gone.status).toBe(404);
  });

  it("changes visibility with `clawhub visibility`, and refuses org-only outside an org", async () => {
    const r = await as("alice", ["visibility", "@alice/ledger-mine", "public"]);
    expect(r.code, r.stderr).toBe(0);
    expect((await api("/api/v1/skills/ledger-mine?ownerHandle=alice")).status).toBe(200);
    const orgOnly = await as("alice", ["visibility", "@alice/ledger-mine", "org"]);
    expect(orgOnly.code).toBe(2);
    expect(orgOnly.stderr).toContain("needs an org namespace");
    expect((await as("alice", ["visibility", "@alice/ledger-mine", "private"])).code).toBe(0);
    expect((await api("/api/v1/skills/ledger-mine?ownerHandle=alice")).status).toBe(404);
  });

  it("applies the namespace default to publishes from the official CLI, which sends none", async () => {
    const dir = await skillDir("ledger-official", "Reconcile ledgers with the official CLI.");
    // The official CLI reads its token from its own config file only.
    const env = { CLAWHUB_CONFIG_PATH: join(sb.root, "official-bob.json") };
    expect((await sb.run(OFFICIAL_BIN, ["login", "--token", tokens.bob ?? ""], { env })).code).toBe(
      0,
    );
    const r = await sb.run(
      OFFICIAL_BIN,
      ["publish", dir, "--slug", "ledger-official", "--version", "1.0.0", "--no-input"],
      { env },
    );
    expect(r.code, r.stderr + r.stdout).toBe(0);
    // Published to bob's own namespace: a user namespace defaults to public.
    expect((await api("/api/v1/skills/ledger-official?ownerHandle=bob")).status).toBe(200);
    // An org's default, changed by an owner, applies to the next new skill there.
    const patched = await api("/api/v1/orgs/acme", {
      method: "PATCH",
      token: tokens.alice,
      body: JSON.stringify({ defaultVisibility: "private" }),
    });
    expect(patched.status).toBe(200);
    const viaApi = new FormData();
    viaApi.set(
      "payload",
      JSON.stringify({ slug: "ledger-quiet", version: "1.0.0", ownerHandle: "acme" }),
    );
    viaApi.append(
      "files[]",
      new Blob(["---\nname: ledger-quiet\ndescription: Quiet ledgers.\n---\n\nBody.\n"]),
      "SKILL.md",
    );
    const published = await api("/api/v1/skills", {
      method: "POST",
      token: tokens.bob,
      body: viaApi,
    });
    expect(published.status).toBe(200);
    expect(((await published.json()) as { visibility: string }).visibility).toBe("private");
  });
});
