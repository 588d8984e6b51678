/**
 * What OpenClaw (the agent runtime, npm `openclaw`) asks a ClawHub registry beyond what the
 * `clawhub` CLIs use: trending for an empty search, install resolution, verification with a
 * Skill Card, and batch security verdicts. Read from OpenClaw 2026.9's installed client
 * (src/infra/clawhub-skills.ts, clawhub-install-trust.ts); test/openclaw.test.ts drives the
 * real package against `clawhub serve`.
 *
 * Security verdicts are honest: this registry does not scan skills yet (the trust issue brings
 * a scanner), so every verdict says so: `security.status` "pending" with reason "scan:pending",
 * which OpenClaw shows as "security scan is pending" and which never claims "clean".
 */
import type { Context } from "hono";
import { ClawHubError } from "../../errors/index.ts";
import type { Principal } from "../service.ts";
import type { ScanRecord, SkillRecord, VersionRecord } from "../store/index.ts";
import {
  type Env,
  intParam,
  jsonBody,
  ownerParam,
  type RouteContext,
  requestedSkill,
  scanModeration,
} from "./common.ts";

/** What verdicts and verifications say of a version nothing scanned (published before the scanner). */
export const NOT_SCANNED = {
  status: "pending",
  passed: false,
  scanned: false,
  summary: "No scanner has looked at this version (published before this registry scanned).",
  checkedAt: null,
} as const;

const MAX_VERDICT_ITEMS = 100;

/** The security block of a version: its scan, or not scanned. */
function securityOf(scan: ScanRecord | undefined) {
  if (!scan) return NOT_SCANNED;
  return {
    status: scan.verdict,
    passed: scan.verdict === "clean",
    scanned: true,
    summary: scanModeration(scan, false).summary,
    checkedAt: scan.scannedAt,
  };
}

/** How install-time checks read a verdict: pass, review (held for a look) or fail (blocked). */
const decisionOf = (verdict: ScanRecord["verdict"]) =>
  verdict === "clean" ? "pass" : verdict === "suspicious" ? "review" : "fail";

/** Mounts the OpenClaw-facing routes. */
export function mountOpenClawRoutes(ctx: RouteContext): void {
  const { app, registry, baseOf } = ctx;
  const pageUrl = (c: Context<Env>, skill: SkillRecord) =>
    `${baseOf(c)}/${skill.ownerHandle}/${skill.slug}`;
  const cardUrl = (c: Context<Env>, skill: SkillRecord, v: VersionRecord) =>
    `${baseOf(c)}/api/v1/skills/${encodeURIComponent(skill.slug)}/card?ownerHandle=${encodeURIComponent(skill.ownerHandle)}&version=${encodeURIComponent(v.version)}`;

  app.get("/api/v1/trending", async (c) => {
    const limit = intParam(c.req.query("limit"), "limit", 20, 1, 100);
    const kind = c.req.query("kind") ?? "skills";
    if (kind !== "skills")
      throw new ClawHubError("INVALID_ARGUMENT", `kind must be skills (got ${kind.slice(0, 40)})`);
    const rows = await registry.listSkills(c.get("principal"), {
      sort: "installs",
      limit,
      offset: 0,
    });
    const items = await Promise.all(
      rows.map(async (s) => {
        const latest = await registry.latestVersion(s);
        return {
          slug: s.slug,
          displayName: s.displayName,
          summary: s.summary,
          source: "clawhub",
          install: { kind: "clawhub", reference: `@${s.ownerHandle}/${s.slug}` },
          official: false,
          ownerHandle: s.ownerHandle,
          publisher: { handle: s.ownerHandle, displayName: s.ownerDisplayName },
          version: latest?.version ?? null,
          metrics: {
            downloads: s.downloads,
            installs: s.installs,
            stars: s.stars,
            updatedAt: s.updatedAt,
          },
        };
      }),
    );
    return c.json({ items });
  });

  app.get("/api/v1/skills/:slug/install", async (c) => {
    const skill = await requestedSkill(registry, c);
    if (c.req.query("reference"))
      return c.json(
        {
          ok: false,
          slug: skill.slug,
          reason: "unsupported_reference",
          message: "This registry serves its own skills only (no skills.sh or GitHub references).",
        },
        409,
      );
    const v = await registry.pickVersion(skill, {});
    const scan = await registry.scanOf(v);
    return c.json({
      ok: true,
      slug: skill.slug,
      ownerHandle: skill.ownerHandle,
      installKind: "archive",
      archive: {
        version: v.version,
        downloadUrl: `${baseOf(c)}/api/v1/download?slug=${encodeURIComponent(skill.slug)}&ownerHandle=${encodeURIComponent(skill.ownerHandle)}&version=${encodeURIComponent(v.version)}`,
        integrity: v.integrity,
        sha256: v.zipSha256,
      },
      trust: scan
        ? { state: scan.verdict, label: securityOf(scan).summary }
        : { state: "not-scanned", label: NOT_SCANNED.summary },
    });
  });

  app.get("/api/v1/skills/:slug/verify", async (c) => {
    const tag = c.req.query("tag");
    const version = c.req.query("version");
    const checked = await registry.verifyArchive(c.get("principal"), {
      slug: c.req.param("slug"),
      ownerHandle: ownerParam(c),
      version,
      tag,
    });
    const { skill, version: v, intact } = checked;
    const scan = await registry.scanOf(v);
    // The transparency log's statement must describe this very archive: a version row or blob
    // changed after its publish fails here (clients check the same against the signed log).
    const logged = await registry.logEntryOf(v);
    const attested = logged ? logged.matches : undefined;
    // A pass needs the archive to hash as published and the scanner to call it clean; a
    // version nothing scanned (published before the scanner) is never a pass: upstream answers
    // that with ok false, decision "fail" and the reason, and its clients exit 1 on it.
    const decision =
      !intact || attested === false ? "fail" : scan ? decisionOf(scan.verdict) : "fail";
    return c.json({
      schema: "clawhub.skill.verify.v1",
      ok: decision === "pass",
      decision,
      reasons: [
        ...(intact ? [] : ["artifact.integrity_mismatch"]),
        ...(attested === false ? ["attestation.mismatch"] : []),
        ...(scan
          ? scan.verdict === "clean"
            ? []
            : [`security.${scan.verdict}`]
          : ["security.not_scanned"]),
      ],
      slug: skill.slug,
      displayName: skill.displayName,
      pageUrl: pageUrl(c, skill),
      publisherHandle: skill.ownerHandle,
      publisherDisplayName: skill.ownerDisplayName,
      publisherProfileUrl: null,
      version: v.version,
      resolvedFrom: version ? "version" : tag ? "tag" : "latest",
      tag: tag ?? null,
      createdAt: v.createdAt,
      card: { available: true, url: cardUrl(c, skill, v), format: "markdown" },
      artifact: {
        kind: "legacy-zip",
        integrity: v.integrity,
        sha256: v.zipSha256,
        fingerprint: v.fingerprint,
        size: v.zipSize,
        verified: intact,
      },
      provenance: null,
      security: scan
        ? { ...securityOf(scan), clawhubScan: scan.verdict, label: labelOf(scan.verdict) }
        : { ...NOT_SCANNED, clawhubScan: "unscanned", label: "Not scanned" },
      signature: logged
        ? {
            format: "dsse",
            payloadType: "application/vnd.in-toto+json",
            signedBy: logged.statement?.publisherKeyId ? ["publisher", "registry"] : ["registry"],
            publisherKeyId: logged.statement?.publisherKeyId ?? null,
            registryKeyId: registry.transparencyLog().keyId,
            logIndex: logged.entry.index,
            matchesArtifact: logged.matches,
          }
        : null,
    });
  });

  app.get("/api/v1/skills/:slug/card", async (c) => {
    const skill = await requestedSkill(registry, c);
    const v = await registry.pickVersion(skill, {
      version: c.req.query("version"),
      tag: c.req.query("tag"),
    });
    const files = await registry.filesOf(v);
    const manifest = registry.manifestOf(v);
    const scan = await registry.scanOf(v);
    const lines = [
      `# Skill Card: @${skill.ownerHandle}/${skill.slug}@${v.version}`,
      "",
      `- Name: ${oneLine(skill.displayName)}`,
      `- Publisher: @${skill.ownerHandle}`,
      `- Published: ${new Date(v.createdAt).toISOString()}`,
      `- Archive: sha256 ${v.zipSha256}, ${v.integrity}, ${v.zipSize} bytes`,
      `- Fingerprint: ${v.fingerprint}`,
      `- License: MIT-0`,
      scan
        ? `- Security: ${scan.verdict} (${securityOf(scan).summary} ${scan.engine})`
        : `- Security: not scanned (${NOT_SCANNED.summary})`,
      "",
      "## Description",
      "",
      oneLine(skill.summary ?? manifest.description ?? "(none)"),
      "",
      `## Files (${files.length})`,
      "",
      ...files.map((f) => `- \`${oneLine(f.path)}\` ${f.size} bytes, sha256 ${f.sha256}`),
      "",
    ];
    return c.text(lines.join("\n"), 200, { "Content-Type": "text/markdown; charset=utf-8" });
  });

  app.post("/api/v1/skills/-/security-verdicts", async (c) => {
    const body = await jsonBody<{ items?: unknown }>(c, 256 * 1024);
    if (!Array.isArray(body.items))
      throw new ClawHubError("INVALID_ARGUMENT", "items (an array of {slug, version}) is required");
    if (body.items.length > MAX_VERDICT_ITEMS)
      throw new ClawHubError(
        "LIMIT_EXCEEDED",
        `at most ${MAX_VERDICT_ITEMS} items per request (got ${body.items.length})`,
      );
    const principal = c.get("principal");
    const items = [];
    for (const raw of body.items as unknown[]) items.push(await verdictOf(c, principal, raw));
    return c.json({ items });
  });

  async function verdictOf(c: Context<Env>, principal: Principal | undefined, raw: unknown) {
    const item = (typeof raw === "object" && raw !== null ? raw : {}) as Record<string, unknown>;
    const slug = typeof item.slug === "string" ? item.slug.trim().toLowerCase() : "";
    const version = typeof item.version === "string" ? item.version.trim() : "";
    const ownerHandle =
      typeof item.ownerHandle === "string"
        ? item.ownerHandle.replace(/^@/, "").toLowerCase()
        : undefined;
    const requested = {
      requestedSlug: slug,
      ...(ownerHandle ? { requestedOwnerHandle: ownerHandle } : {}),
      requestedVersion: version,
    };
    const failure = (code: string, message: string) => ({
      ok: false,
      decision: "fail",
      reasons: [code.replace("_", ".")],
      ...requested,
      slug: null,
      version: null,
      publisherHandle: null,
      security: null,
      error: { code, message },
    });
    if (!slug || !version) return failure("invalid_request", "slug and version are required");
    let skill: SkillRecord;
    try {
      skill = await registry.requireSkill(principal, slug, ownerHandle);
    } catch (error) {
      if (error instanceof ClawHubError && error.code === "NOT_FOUND")
        return failure("skill_not_found", "Skill not found");
      throw error;
    }
    let v: VersionRecord;
    try {
      v = await registry.pickVersion(skill, { version });
    } catch (error) {
      if (error instanceof ClawHubError && (error.code === "NOT_FOUND" || error.code === "GONE"))
        return failure("version_not_found", error.message);
      throw error;
    }
    const skillUrl = pageUrl(c, skill);
    const scan = await registry.scanOf(v);
    const security = securityOf(scan);
    return {
      // Scanned: pass when clean, review when suspicious, fail when malicious. Not scanned
      // (published before the scanner): not "pass", as nothing vouches for it, and not "fail",
      // as nothing found a problem; OpenClaw installs it and shows the pending scan.
      ok: scan?.verdict === "clean",
      decision: scan ? decisionOf(scan.verdict) : "review",
      reasons: scan ? (scan.verdict === "clean" ? [] : [`scan:${scan.verdict}`]) : ["scan:pending"],
      ...requested,
      slug: skill.slug,
      version: v.version,
      displayName: skill.displayName,
      publisherHandle: skill.ownerHandle,
      publisherDisplayName: skill.ownerDisplayName,
      createdAt: v.createdAt,
      checkedAt: scan?.scannedAt ?? null,
      skillUrl,
      securityAuditUrl: `${skillUrl}/security-audit?version=${encodeURIComponent(v.version)}`,
      overview: scan
        ? `${labelOf(scan.verdict)}. ${security.summary}`
        : `Not scanned. ${NOT_SCANNED.summary} Review its files before you rely on it.`,
      security,
    };
  }
}

const labelOf = (verdict: ScanRecord["verdict"]) =>
  verdict === "clean" ? "Clean" : verdict === "suspicious" ? "Suspicious" : "Malicious";

/** Text for a Markdown line: no line breaks and no control characters from user input. */
function oneLine(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: removing them is the point
  return text.replace(/[\u0000-\u001f\u007f\u2028\u2029]+/g, " ").trim();
}
