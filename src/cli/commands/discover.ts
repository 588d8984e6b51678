import { ClawHubError } from "../../errors/index.ts";
import type { CommandSpec } from "../command.ts";
import { table } from "../output.ts";
import { intFlag } from "./hub-options.ts";
import { age, clientFor } from "./shared.ts";

/** `clawhub search <query...>`. */
export const searchCommand: CommandSpec = {
  path: ["search"],
  args: "[query...]",
  summary: "search the registry",
  configure(cmd) {
    cmd.option("--limit <n>", "results", "20");
    cmd.option("--owner <handle>", "only this owner's skills");
    cmd.option("--exact", "only exact slug or name matches");
    cmd.option(
      "--explain",
      "show each score part (tier, BM25, cosine, semantic feedback, popularity)",
    );
    cmd.option("--status", "show the index status (documents, embedded, pending, embedder)");
  },
  async run(words, options, ctx) {
    if (options.status) {
      const s = await (await clientFor(ctx)).searchStatus();
      const complete = s.pending === 0 ? "complete" : `${s.pending} pending`;
      return {
        data: s,
        text: `${s.documents} documents, ${s.embedded} embedded (${complete}), embedder: ${s.embedder ?? "none (lexical only)"}`,
      };
    }
    const q = words.join(" ");
    if (!q.trim()) throw new ClawHubError("USAGE", "a query is required (or --status)");
    const { results } = await (await clientFor(ctx)).search(q, {
      limit: intFlag(options.limit ?? 20, "--limit", 1, 200),
      ...(typeof options.owner === "string"
        ? { ownerHandle: options.owner.replace(/^@/, "") }
        : {}),
      exact: options.exact === true,
      explain: options.explain === true,
    });
    const rows = results.map((r) => [
      `${r.slug ?? "?"}${r.version ? ` v${r.version}` : ""}`,
      r.ownerHandle ? `@${r.ownerHandle}` : "",
      r.displayName ?? "",
      options.explain && r.explain
        ? `score ${r.score.toFixed(3)}: tier ${r.explain.tier}, bm25 ${r.explain.bm25.toFixed(2)}, cosine ${r.explain.cosine === null ? "-" : r.explain.cosine.toFixed(3)}, feedback ${(r.explain.feedback ?? 0).toFixed(2)}, popularity ${r.explain.popularity.toFixed(3)}`
        : `score ${r.score.toFixed(3)}`,
    ]);
    return { data: { results }, text: rows.length > 0 ? table(rows) : "No skills found." };
  },
};

/** `clawhub explore`. */
export const exploreCommand: CommandSpec = {
  path: ["explore"],
  summary: "list skills: newest, updated, downloads, stars or installs",
  configure(cmd) {
    cmd.option("--limit <n>", "1-200", "25");
    cmd.option("--sort <sort>", "newest|updated|downloads|stars|installs", "newest");
  },
  async run(_args, options, ctx) {
    const result = await (await clientFor(ctx)).listSkills({
      limit: intFlag(options.limit ?? 25, "--limit", 1, 200),
      sort: String(options.sort),
    });
    const rows = result.items.map((s) => [
      s.slug,
      s.latestVersion ? `v${s.latestVersion.version}` : "",
      age(s.updatedAt, ctx.now()),
      (s.summary ?? "").slice(0, 60),
    ]);
    return { data: result, text: rows.length > 0 ? table(rows) : "No skills yet." };
  },
};

/** `clawhub inspect <skill>`. */
export const inspectCommand: CommandSpec = {
  path: ["inspect"],
  args: "<skill>",
  summary: "show a skill's metadata, versions and files without installing it",
  configure(cmd) {
    cmd.option("--version <version>", "a specific version (default: latest)");
    cmd.option("--versions", "list the version history");
    cmd.option("--files", "list the files of the version");
    cmd.option("--file <path>", "print one file's content");
  },
  async run([spec = ""], options, ctx) {
    const client = await clientFor(ctx);
    const [ownerPart, slugPart] = spec.includes("/") ? spec.split("/", 2) : [undefined, spec];
    // Lowercase, as publish stores them: `inspect PDF-Tools` finds pdf-tools.
    const slug = (slugPart ?? "").replace(/@.*$/, "").toLowerCase();
    const ownerHandle = ownerPart?.replace(/^@/, "").toLowerCase();
    const detail = await client.skill(slug, ownerHandle);
    const version =
      typeof options.version === "string" ? options.version : detail.latestVersion?.version;
    if (typeof options.file === "string") {
      const text = await client.file(slug, options.file, {
        ...(version ? { version } : {}),
        ...(ownerHandle ? { ownerHandle } : {}),
      });
      return { data: { path: options.file, content: text }, text };
    }
    const v = version ? await client.version(slug, version, ownerHandle) : undefined;
    const versions = options.versions
      ? (await client.versions(slug, { ...(ownerHandle ? { ownerHandle } : {}) })).items
      : undefined;
    const s = detail.skill;
    const lines = [
      `${s?.displayName ?? slug}  (${slug})  by @${detail.owner?.handle ?? "?"}`,
      s?.summary ?? "",
      `latest ${detail.latestVersion?.version ?? "-"}   tags ${Object.entries(s?.tags ?? {})
        .map(([t, x]) => `${t}=${x}`)
        .join(" ")}`,
      `downloads ${s?.stats.downloads ?? 0}   installs ${s?.stats.installs ?? 0}   stars ${s?.stats.stars ?? 0}`,
    ];
    if (v?.version?.integrity)
      lines.push(`integrity ${v.version.integrity}`, `fingerprint ${v.version.fingerprint}`);
    if (options.files && v?.version?.files)
      lines.push(
        "files:",
        table(v.version.files.map((f) => [`  ${f.path}`, `${f.size} B`, f.sha256.slice(0, 12)])),
      );
    if (versions)
      lines.push(
        "versions:",
        table(
          versions.map((x) => [
            `  ${x.version}`,
            age(x.createdAt, ctx.now()),
            x.changelog.split("\n")[0] ?? "",
          ]),
        ),
      );
    return {
      data: { ...detail, version: v?.version ?? null, versions },
      text: lines.filter((l) => l !== "").join("\n"),
    };
  },
};
