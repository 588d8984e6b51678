import type { Context } from "hono";
/** Reading skills: search, listings, one skill, versions, files, downloads, stars, telemetry. */
import { ClawHubError } from "../../errors/index.ts";
import type {
  OkResponse,
  ResolveResponse,
  SearchResponse,
  SearchStatusResponse,
  SelectorResolveResponse,
  SkillDetailResponse,
  SkillListResponse,
  SkillSummary,
  VersionDetailResponse,
  VersionListResponse,
  VersionSummary,
} from "../../schema/index.ts";
import type { Principal } from "../service.ts";
import type { SkillRecord, VersionRecord } from "../store/index.ts";
import {
  cursorOf,
  type Env,
  intParam,
  jsonBody,
  offsetOf,
  ownerParam,
  type RouteContext,
  requestedSkill,
  SORTS,
  scanModeration,
} from "./common.ts";

/** Mounts the skill routes. */
export function mountSkillRoutes(ctx: RouteContext): void {
  const { app, registry, clientIp, requireUser } = ctx;
  // ---- shaping -------------------------------------------------------------------------------
  async function skillJson(
    skill: SkillRecord,
    known?: { latest: VersionRecord | undefined },
  ): Promise<
    Required<Pick<SkillDetailResponse, "skill" | "latestVersion" | "metadata" | "owner">> & {
      skill: SkillSummary;
    }
  > {
    const [tags, latest, versions] = await Promise.all([
      registry.tagsOf(skill),
      known ? known.latest : registry.latestVersion(skill),
      registry.versionsOf(skill),
    ]);
    const manifest = latest ? registry.manifestOf(latest) : {};
    const oc = manifest.openclaw;
    return {
      skill: {
        slug: skill.slug,
        displayName: skill.displayName,
        summary: skill.summary,
        description: skill.summary,
        ownerHandle: skill.ownerHandle,
        visibility: skill.visibility,
        tags,
        stats: {
          downloads: skill.downloads,
          installs: skill.installs,
          installsAllTime: skill.installs,
          stars: skill.stars,
          versions: versions.length,
        },
        createdAt: skill.createdAt,
        updatedAt: skill.updatedAt,
      },
      latestVersion: latest ? versionSummary(latest) : null,
      metadata: oc
        ? {
            setup: oc.requires.env.map((key) => ({ key, required: true })),
            os: oc.os.length > 0 ? oc.os : null,
            systems: null,
          }
        : null,
      owner: { handle: skill.ownerHandle, displayName: skill.ownerDisplayName, image: null },
    };
  }
  const versionSummary = (v: VersionRecord): VersionSummary => ({
    version: v.version,
    createdAt: v.createdAt,
    changelog: v.changelog,
    changelogSource: v.changelog ? ("user" as const) : null,
    license: "MIT-0" as const,
  });

  /** A route acting on one skill for the signed-in caller: `act(principal, slug, owner)`. */
  const onSkill =
    (act: (p: Principal, slug: string, owner: string | undefined) => Promise<unknown>) =>
    async (c: Context<Env>) =>
      c.json(
        await act(c.get("principal") ?? requireUser(c), c.req.param("slug") ?? "", ownerParam(c)),
      );

  // ---- search and listing --------------------------------------------------------------------
  app.get("/api/v1/search", async (c) => {
    const limit = intParam(c.req.query("limit"), "limit", 20, 1, 200);
    const explain = c.req.query("explain") === "1" || c.req.query("explain") === "true";
    const hits = await registry.search(c.get("principal"), c.req.query("q") ?? "", {
      limit,
      mode: c.req.query("mode") === "exact" ? "exact" : "default",
      ...(ownerParam(c) ? { ownerHandle: ownerParam(c) } : {}),
      nonSuspiciousOnly:
        c.req.query("nonSuspiciousOnly") === "true" || c.req.query("nonSuspicious") === "true",
    });
    return c.json({
      results: hits.map((h) => ({
        slug: h.skill.slug,
        ownerHandle: h.skill.ownerHandle,
        displayName: h.skill.displayName,
        summary: h.skill.summary,
        version: h.latest?.version ?? null,
        score: Number(h.score.toFixed(4)),
        downloads: h.skill.downloads,
        updatedAt: h.skill.updatedAt,
        owner: { handle: h.skill.ownerHandle, displayName: h.skill.ownerDisplayName, image: null },
        // OpenClaw drops results without a source it knows; every skill here is native.
        source: "clawhub" as const,
        ...(explain ? { explain: h.parts } : {}),
      })),
    } satisfies SearchResponse);
  });

  app.get("/api/v1/search/status", (c) => {
    const { documents, embedded, pending, embedder } = registry.searchStatus(c.get("principal"));
    return c.json({ documents, embedded, pending, embedder } satisfies SearchStatusResponse);
  });

  app.get("/api/v1/skills", async (c) => {
    const limit = intParam(c.req.query("limit"), "limit", 25, 1, 200);
    const offset = offsetOf(c.req.query("cursor"));
    const sortName = c.req.query("sort") ?? "updated";
    // Own keys only: `sort=__proto__` must not find Object.prototype.
    const sort = Object.hasOwn(SORTS, sortName) ? SORTS[sortName] : undefined;
    if (!sort)
      throw new ClawHubError(
        "INVALID_ARGUMENT",
        `unknown sort "${sortName.slice(0, 40)}": use ${Object.keys(SORTS).join(", ")}`,
      );
    const prefix = c.req.query("prefix")?.toLowerCase();
    let rows = await registry.listSkills(c.get("principal"), {
      sort,
      limit: prefix ? 10_000 : limit + 1,
      offset: prefix ? 0 : offset,
      ...(ownerParam(c) ? { ownerHandle: ownerParam(c) } : {}),
    });
    if (prefix)
      rows = rows.filter((s) => s.slug.startsWith(prefix)).slice(offset, offset + limit + 1);
    const page = rows.slice(0, limit);
    const items = await Promise.all(
      page.map(async (s) => {
        const j = await skillJson(s);
        return {
          ...j.skill,
          latestVersion: j.latestVersion ?? undefined,
          metadata: j.metadata,
          owner: j.owner,
        };
      }),
    );
    return c.json({
      items,
      nextCursor: rows.length > limit ? cursorOf(offset + limit) : null,
    } satisfies SkillListResponse);
  });

  // ---- one skill -----------------------------------------------------------------------------
  app.get("/api/v1/skills/:slug", async (c) => {
    const skill = await requestedSkill(registry, c);
    const latest = await registry.latestVersion(skill);
    const manages = registry.canManage(c.get("principal"), skill);
    const [j, scan, state] = await Promise.all([
      skillJson(skill, { latest }),
      latest ? registry.scanOf(latest) : undefined,
      latest && manages ? registry.moderation.stateOf(latest) : undefined,
    ]);
    return c.json({
      ...j,
      // The latest version's verdict; none when nothing scanned it (upstream clients read a
      // missing verdict as "clean", so a not-scanned version never gets one here). Who manages
      // the skill also sees whether others are served it and the review.
      moderation: scan
        ? {
            ...scanModeration(scan, manages),
            ...(state
              ? {
                  availability: state.availability,
                  review: state.review
                    ? { status: state.review.status, reason: state.review.reason }
                    : null,
                }
              : {}),
          }
        : null,
    } satisfies SkillDetailResponse);
  });
  app.delete(
    "/api/v1/skills/:slug",
    onSkill((p, slug, owner) => registry.setDeleted(p, slug, true, owner)),
  );
  app.post(
    "/api/v1/skills/:slug/undelete",
    onSkill((p, slug, owner) => registry.setDeleted(p, slug, false, owner)),
  );

  app.get("/api/v1/skills/:slug/versions", async (c) => {
    const skill = await requestedSkill(registry, c);
    const limit = intParam(c.req.query("limit"), "limit", 25, 1, 200);
    const offset = offsetOf(c.req.query("cursor"));
    const rows = await registry.versionsOf(skill, { limit: limit + 1, offset });
    return c.json({
      items: rows.slice(0, limit).map(versionSummary),
      nextCursor: rows.length > limit ? cursorOf(offset + limit) : null,
    } satisfies VersionListResponse);
  });
  app.get("/api/v1/skills/:slug/versions/:version", async (c) => {
    const skill = await requestedSkill(registry, c);
    const v = await registry.pickVersion(skill, { version: c.req.param("version") });
    const files = await registry.filesOf(v);
    return c.json({
      version: {
        ...versionSummary(v),
        files,
        fingerprint: v.fingerprint,
        integrity: v.integrity,
        size: v.zipSize,
      },
      skill: { slug: skill.slug, displayName: skill.displayName },
    } satisfies VersionDetailResponse);
  });
  app.get("/api/v1/skills/:slug/file", async (c) => {
    const path = c.req.query("path");
    if (!path) throw new ClawHubError("INVALID_ARGUMENT", "path is required");
    const { file, bytes } = await registry.file(c.get("principal"), {
      slug: c.req.param("slug"),
      ownerHandle: ownerParam(c),
      version: c.req.query("version"),
      tag: c.req.query("tag"),
      path,
    });
    if (bytes.length > 200 * 1024)
      throw new ClawHubError(
        "LIMIT_EXCEEDED",
        `${path} is over the 200 KB limit of this endpoint; download the archive instead`,
      );
    let text: string;
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch {
      return c.text("Binary files are not served by this endpoint", 415);
    }
    return c.text(text, 200, {
      "Content-Type": `${file.contentType.startsWith("text/") ? file.contentType : "text/plain"}; charset=utf-8`,
      ETag: `"${file.sha256}"`,
    });
  });
  app.get("/api/v1/skills/:slug/moderation", async (c) => {
    const skill = await requestedSkill(registry, c);
    if (!registry.canManage(c.get("principal"), skill))
      throw new ClawHubError("NOT_FOUND", "No moderation record for this skill");
    const v = await registry.pickVersion(skill, {
      version: c.req.query("version"),
      tag: c.req.query("tag"),
    });
    const state = await registry.moderation.stateOf(v);
    return c.json({
      moderation: {
        ...scanModeration(await registry.scanOf(v), true),
        // Whether others are served this version, and the review that decides it.
        availability: state.availability,
        review: state.review
          ? {
              status: state.review.status,
              reason: state.review.reason,
              decidedAt: state.review.decidedAt,
              appeal: state.review.appeal,
              appealedAt: state.review.appealedAt,
            }
          : null,
      },
    });
  });
  app.post("/api/v1/skills/:slug/tags", async (c) => {
    const body = await jsonBody<{ tag?: unknown; version?: unknown }>(c, 16 * 1024);
    if (typeof body.tag !== "string" || typeof body.version !== "string")
      throw new ClawHubError("INVALID_ARGUMENT", "tag and version are required");
    return c.json(
      await registry.setTag(
        c.get("principal") ?? requireUser(c),
        c.req.param("slug"),
        body.tag,
        body.version,
        ownerParam(c),
      ),
    );
  });

  app.post("/api/v1/skills/:slug/visibility", async (c) => {
    const body = await jsonBody<{ visibility?: unknown }>(c, 16 * 1024);
    return c.json(
      await registry.setVisibility(
        c.get("principal") ?? requireUser(c),
        c.req.param("slug"),
        body.visibility,
        ownerParam(c),
      ),
    );
  });

  // ---- resolve, download, stars, installs ----------------------------------------------------
  app.get("/api/v1/resolve", async (c) => {
    const slug = c.req.query("slug");
    const hash = c.req.query("hash");
    const selector = c.req.query("selector");
    if (slug && !hash && selector !== undefined)
      return c.json(
        (await registry.resolveSelector(
          c.get("principal"),
          slug,
          selector,
          ownerParam(c),
        )) satisfies SelectorResolveResponse,
      );
    if (!slug || !hash)
      throw new ClawHubError("INVALID_ARGUMENT", "slug and hash (or selector) are required");
    return c.json(
      (await registry.resolve(
        c.get("principal"),
        slug,
        hash.toLowerCase(),
        ownerParam(c),
      )) satisfies ResolveResponse,
    );
  });
  app.get("/api/v1/download", async (c) => {
    const slug = c.req.query("slug");
    if (!slug) throw new ClawHubError("INVALID_ARGUMENT", "slug is required");
    const principal = c.get("principal");
    const { skill, version, zip } = await registry.download(principal, {
      slug,
      ownerHandle: ownerParam(c),
      version: c.req.query("version"),
      tag: c.req.query("tag"),
      identity: principal ? `user:${principal.user.id}` : `ip:${clientIp(c)}`,
    });
    const etag = `"${version.zipSha256}"`;
    const headers = {
      "Content-Type": "application/zip",
      "Content-Disposition": `attachment; filename="${skill.slug}-${version.version}.zip"`,
      ETag: etag,
      Digest: `sha-256=${Buffer.from(version.zipSha256, "hex").toString("base64")}`,
      "X-ClawHub-Artifact-Type": "legacy-zip",
      "X-ClawHub-Artifact-Sha256": version.zipSha256,
      "X-ClawHub-Integrity": version.integrity,
      "X-ClawHub-Version": version.version,
      "Cache-Control": "public, max-age=31536000, immutable",
    };
    if (c.req.header("if-none-match") === etag) return c.body(null, 304, headers);
    // The cached bytes as they are (no copy per download: they are never written to).
    return c.body(zip as Uint8Array<ArrayBuffer>, 200, headers);
  });
  app.post(
    "/api/v1/stars/:slug",
    onSkill((p, slug, owner) => registry.star(p, slug, true, owner)),
  );
  app.delete(
    "/api/v1/stars/:slug",
    onSkill((p, slug, owner) => registry.star(p, slug, false, owner)),
  );
  // Telemetry from the official CLIs. It never fails a client that sent a known shape: a
  // single install is counted (when the skill exists), the legacy bulk snapshots of older CLIs
  // (`roots`) and `/sync` are accepted and not counted, since they repeat on every run.
  app.post("/api/cli/telemetry/install", async (c) => {
    const body = await jsonBody<{ slug?: unknown; ownerHandle?: unknown; roots?: unknown }>(
      c,
      256 * 1024,
    );
    if (typeof body.slug === "string") {
      await registry
        .recordInstall(
          c.get("principal"),
          `ip:${clientIp(c)}`,
          body.slug,
          typeof body.ownerHandle === "string" ? body.ownerHandle : undefined,
        )
        .catch((error: unknown) => {
          if (!(error instanceof ClawHubError && error.code === "NOT_FOUND")) throw error;
        });
    } else if (
      !Array.isArray(body.roots) &&
      typeof (body as { event?: unknown }).event !== "string"
    )
      throw new ClawHubError("INVALID_ARGUMENT", "slug, event or roots is required");
    return c.json({ ok: true } satisfies OkResponse);
  });
  app.post("/api/cli/telemetry/sync", async (c) => {
    await jsonBody<Record<string, unknown>>(c, 256 * 1024);
    return c.json({ ok: true } satisfies OkResponse);
  });
}
