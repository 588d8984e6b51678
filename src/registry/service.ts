import { createHash, randomBytes, randomUUID } from "node:crypto";
import semver from "semver";
import { ClawHubError } from "../errors/index.ts";
import {
  checkDisplayName,
  checkName,
  checkPublishableSlug,
  displayNameProblem,
  HANDLE,
  RESERVED_SLUGS,
  TAG,
} from "../schema/index.ts";
import {
  checkDisplayNameSpoof,
  checkNewSlug,
  createScanPool,
  displaySkeleton,
  type KnownSkill,
  type PublishAttestation,
  parseEnvelope,
  payloadOf,
  readPublishStatement,
  rulesOf,
  type ScanPool,
  scanOnPool,
  slugSkeleton,
  type Verdict,
} from "../trust/index.ts";
import { knownDigests } from "./digests.ts";

export { RESERVED_SLUGS };

import {
  createSearchEngine,
  documentText,
  type Embedder,
  MAX_QUERY_LENGTH,
} from "../search/index.ts";
import {
  checkSkillPaths,
  createZipAsync,
  DEFAULT_LIMITS,
  digestInSlices,
  fingerprintOf,
  formatBytes,
  integrityOf,
  parseSkillMd,
  type SkillLimits,
  type SkillManifest,
  sha256Hex,
  sha512HexOf,
} from "../skill/index.ts";
import {
  canManage,
  canPublishTo,
  canSee,
  type Principal,
  parseVisibility,
  readScopeOf,
} from "./access.ts";
import { createAccounts } from "./accounts.ts";
import { createKeyService } from "./keys.ts";
import type { RegistryLog } from "./log.ts";
import { type Availability, availabilityOf, createModeration, heldReview } from "./moderation.ts";
import { createOrgService } from "./orgs.ts";
import { checkPublishPath, contentTypeOf } from "./paths.ts";
import { createUploads } from "./uploads.ts";

export { checkPublishPath, contentTypeOf };

import type {
  BlobStore,
  RegistryStore,
  SkillRecord,
  SkillSort,
  VersionRecord,
  Visibility,
} from "./store/index.ts";

export type { Principal } from "./access.ts";

/** One file of a publish. */
export interface PublishFile {
  path: string;
  bytes: Buffer;
  contentType?: string;
}

/** A publish request, the same whether it arrived as multipart or as JSON with upload ids. */
export interface PublishInput {
  slug: string;
  displayName?: string | undefined;
  ownerHandle?: string | undefined;
  /** Visibility to set; when absent, a new skill takes its namespace's default. */
  visibility?: Visibility | undefined;
  version: string;
  changelog?: string | undefined;
  tags?: string[] | undefined;
  files: PublishFile[];
  /**
   * The publisher's DSSE envelope over this version's statement (`clawhub publish` with a
   * key); checked, countersigned and logged. The official CLI sends none.
   */
  attestation?: unknown;
}

/** A skill and, optionally, which of its versions (by number or tag; default: the latest). */
export interface VersionSelector {
  slug: string;
  ownerHandle?: string | undefined;
  version?: string | undefined;
  tag?: string | undefined;
}

/** Options of {@link createRegistry}. */
export interface RegistryOptions {
  store: RegistryStore;
  blobs: BlobStore;
  limits?: SkillLimits;
  now?: () => number;
  random?: (bytes: number) => Buffer;
  /** Embeds skills for semantic search; without one, search is lexical only. */
  embedder?: Embedder | undefined;
  logger?: (line: string) => void;
  /** Archive bytes kept in memory for downloads (default 64 MiB; 0 turns the cache off). */
  blobCacheBytes?: number;
  /**
   * How long an announced upload stays usable (default 1 h, as a signed upload URL lasts);
   * garbage collection deletes expired tickets and then their blobs.
   */
  uploadTtlMs?: number;
  /**
   * Scans each publish (src/trust) on worker threads off the event loop. Default: a pool of
   * one worker, started on the first publish.
   */
  scanPool?: ScanPool;
  /**
   * Downloads from which a skill counts as popular: a new slug one keystroke from a popular
   * skill of another owner is refused as a typosquat (default 100).
   */
  popularDownloads?: number;
  /**
   * The transparency log every publish is appended to (the server always has one; without it,
   * versions are not logged and their attestation is NOT_FOUND).
   */
  log?: RegistryLog | undefined;
}

/** What a version's publish statement says, from its row. */
function statementOf(
  ownerHandle: string,
  slug: string,
  v: Pick<VersionRecord, "version" | "zipSha256" | "integrity" | "fingerprint" | "createdAt">,
): Omit<PublishAttestation, "registry"> {
  return {
    owner: ownerHandle,
    slug,
    version: v.version,
    sha256: v.zipSha256,
    sha512: sha512HexOf(v.integrity) ?? "",
    fingerprint: v.fingerprint,
    publisherKeyId: null,
    publishedAt: new Date(v.createdAt).toISOString(),
  };
}

/** Checks a registry slug: the shared rule and the reserved names, both in src/schema. */
export function checkSlug(slug: string): void {
  checkPublishableSlug(slug);
}

/** Checks a user or organisation handle (the shared rule in src/schema). */
export function checkHandle(handle: string): void {
  checkName(HANDLE, handle);
}

/** A dist-tag: the shared tag rule, and never a version number (it would shadow one). */
function checkTag(tag: string): void {
  checkName(TAG, tag);
  if (semver.valid(tag))
    throw new ClawHubError(
      "INVALID_ARGUMENT",
      `invalid tag "${tag.slice(0, 60)}": it is a version number`,
      {
        hint: "Tags name versions (latest, beta); they cannot look like one.",
      },
    );
}

/** The registry's operations, shared by the HTTP API and any other surface. */
export type Registry = ReturnType<typeof createRegistry>;

/** Creates the registry service over a store, a blob store and a search index. */
export function createRegistry(options: RegistryOptions) {
  const { store, blobs } = options;
  const scanPool = options.scanPool ?? createScanPool();
  const limits = options.limits ?? DEFAULT_LIMITS;
  const requireLog = (): RegistryLog => {
    if (!options.log)
      throw new ClawHubError("NOT_FOUND", "this registry keeps no transparency log");
    return options.log;
  };
  const now = options.now ?? Date.now;
  const random = options.random ?? randomBytes;
  const keys = createKeyService({ store, now });
  const engine = createSearchEngine({
    embedder: options.embedder,
    vectors: {
      getVectors: (id, hashes) => store.getVectors(id, hashes),
      putVectors: (id, rows) => store.putVectors(id, rows, now()),
    },
    ...(options.logger ? { logger: options.logger } : {}),
  });
  // Replicas sharing a database each keep an index: every search first picks up what other
  // replicas changed (at most once a second), through skills.changed_at.
  let watermark = 0;
  let lastSync = 0;
  let syncing: Promise<void> | undefined;
  async function syncIndex(force = false): Promise<void> {
    if (!force && now() - lastSync < 1000) return;
    syncing ??= (async () => {
      const startedAt = now();
      for (const skill of await store.skillsChangedSince(watermark)) await indexSkill(skill);
      // Re-read from the same instant next time: a change committed during this pass is seen.
      watermark = startedAt - 1000;
      lastSync = startedAt;
    })().finally(() => {
      syncing = undefined;
    });
    await syncing;
  }

  const manifestOf = (v: VersionRecord): Partial<SkillManifest> & { warnings?: unknown[] } => {
    try {
      return JSON.parse(v.manifest) as Partial<SkillManifest>;
    } catch {
      return {};
    }
  };

  // What a search result shows, kept beside the index so that searching reads no database row.
  const listed = new Map<
    string,
    {
      skill: SkillRecord;
      latest: VersionRecord | undefined;
      verdict: Verdict | undefined;
      /** Whether the latest version is served (src/registry/moderation.ts). */
      availability: Availability;
    }
  >();
  // Skills whose latest version is held or blocked: hidden from everyone who cannot manage
  // them (owners, org publishers, moderators and admins still see them).
  const blocked = new Set<string>();
  // Slugs by how they read (src/trust names.ts), for refusing look-alikes of other owners' skills.
  const bySkeleton = new Map<string, Set<string>>();
  // Skills by how their display name reads (UTS #39 skeletons), for display-name look-alikes.
  const byDisplaySkeleton = new Map<string, Set<string>>();
  const displayKeyOf = new Map<string, string>();
  const popularDownloads = options.popularDownloads ?? 100;
  /**
   * Why a new skill's slug is refused, if it is (look-alike names; admins are not checked).
   * Only public skills are compared: what others cannot install needs no protection from
   * look-alikes, and a refusal naming a private skill would tell a stranger it exists.
   */
  const lookalikeOf = (slug: string, owner: string) => {
    const candidates: KnownSkill[] = [];
    for (const id of bySkeleton.get(slugSkeleton(slug)) ?? []) {
      const s = listed.get(id)?.skill;
      if (s?.visibility === "public")
        candidates.push({ slug: s.slug, owner: s.ownerHandle, downloads: s.downloads });
    }
    // One keystroke from a popular slug: lengths within one, popular only (cheap to walk).
    for (const { skill: s } of listed.values())
      if (
        s.visibility === "public" &&
        s.downloads >= popularDownloads &&
        Math.abs(s.slug.length - slug.length) <= 1
      )
        candidates.push({ slug: s.slug, owner: s.ownerHandle, downloads: s.downloads });
    return checkNewSlug(slug, owner, candidates, { popularDownloads });
  };

  // Skills in the index that are not public: while there are none, searches need no filter.
  const hidden = new Set<string>();
  /**
   * Ranked hits of recent searches, while nothing in the index changed (the generation moves
   * with every indexed skill, and the vector count with every embedding): popular queries repeat,
   * and ranking is most of a search's cost. Only searches whose answer does not depend on who
   * asks are kept (everyone sees the same skills, or the reader is anonymous). Results are
   * rebuilt from the listing on every request, so counts stay current.
   */
  let generation = 0;
  const searchCache = new Map<string, Awaited<ReturnType<typeof engine.search>>>();
  async function indexSkill(skill: SkillRecord): Promise<void> {
    generation++;
    if (skill.deletedAt !== null || skill.visibility === "public") hidden.delete(skill.id);
    else hidden.add(skill.id);
    const skeleton = slugSkeleton(skill.slug);
    if (skill.deletedAt !== null) {
      engine.remove(skill.id);
      listed.delete(skill.id);
      blocked.delete(skill.id);
      bySkeleton.get(skeleton)?.delete(skill.id);
      byDisplaySkeleton.get(displayKeyOf.get(skill.id) ?? "")?.delete(skill.id);
      displayKeyOf.delete(skill.id);
      return;
    }
    bySkeleton.set(skeleton, (bySkeleton.get(skeleton) ?? new Set()).add(skill.id));
    byDisplaySkeleton.get(displayKeyOf.get(skill.id) ?? "")?.delete(skill.id);
    const display = displaySkeleton(skill.displayName);
    displayKeyOf.set(skill.id, display);
    byDisplaySkeleton.set(display, (byDisplaySkeleton.get(display) ?? new Set()).add(skill.id));
    const latest = await latestVersion(skill);
    const verdict = latest ? (await store.scanOf(latest.id))?.verdict : undefined;
    const review = latest ? await store.reviews.reviewOf(latest.id) : undefined;
    const availability = availabilityOf(verdict, review);
    listed.set(skill.id, { skill, latest, verdict, availability });
    if (availability === "served") blocked.delete(skill.id);
    else blocked.add(skill.id);
    const tags = latest ? (manifestOf(latest).metadata?.tags as unknown) : undefined;
    const tagList = Array.isArray(tags) ? tags.map(String) : [];
    engine.upsert({
      id: skill.id,
      name: skill.slug,
      owner: skill.ownerHandle,
      title: skill.displayName,
      summary: skill.summary ?? "",
      tags: tagList,
      popularity: skill.downloads,
      // Only a version the scanner called clean is "non-suspicious" (not scanned is not clean).
      flagged: verdict !== "clean",
      text: documentText({
        title: skill.displayName,
        name: skill.slug,
        summary: skill.summary ?? "",
        tags: tagList,
      }),
    });
  }

  /** In search: what the reader may see, and no held or blocked skill unless they manage it. */
  const visibleInSearch = (
    reader: Principal | undefined,
    entry: { skill: SkillRecord; availability: Availability },
  ) =>
    canSee(reader, entry.skill) &&
    (entry.availability === "served" || canManage(reader, entry.skill));

  async function latestVersion(skill: SkillRecord): Promise<VersionRecord | undefined> {
    const tags = await store.tagsOf(skill.id);
    if (tags.latest) {
      const v = await store.versionOf(skill.id, tags.latest);
      if (v && v.deletedAt === null) return v;
    }
    return (await store.listVersions(skill.id, { limit: 1 }))[0];
  }

  /**
   * Finds a skill the reader may see. A skill they may not see is "not found", exactly like one
   * that does not exist, so that no endpoint reveals that a private skill is there.
   *
   * A bare slug names a skill only while one owner uses it among the skills the reader may
   * see, deleted ones included; with two it is a 409 naming them, so a bare slug never moves to
   * another owner (a private skill going public, a deletion followed by a squatter's publish).
   */
  async function requireSkill(
    reader: Principal | undefined,
    rawSlug: string,
    rawOwner?: string,
    includeDeleted = false,
  ): Promise<SkillRecord> {
    // Slugs and handles are stored lowercase; a reference typed in capitals names the same skill.
    const slug = rawSlug.trim().toLowerCase();
    const ownerHandle = rawOwner?.trim().toLowerCase();
    // Exactly "Skill not found": the official CLIs match that text (publish and sync take it to
    // mean "new skill"); our CLI names the skill and the registry on its side.
    const notFound = () => new ClawHubError("NOT_FOUND", "Skill not found");
    if (ownerHandle) {
      const skill = await store.findSkill(slug, { ownerHandle, includeDeleted });
      if (!skill || !canSee(reader, skill)) throw notFound();
      return skill;
    }
    const visible = (await store.skillsBySlug(slug)).filter((s) => canSee(reader, s));
    const first = visible[0];
    if (!first) throw notFound();
    // Two owners (deleted skills included) behind one bare slug: the public registry's 409,
    // never a choice made for the reader. Picking one let the slug move to another owner the
    // moment a private skill of that name went public, or after its first owner deleted it.
    if (visible.some((s) => s.ownerId !== first.ownerId)) {
      const live = visible.filter((s) => s.deletedAt === null);
      const deleted = visible.filter((s) => s.deletedAt !== null);
      const example = live[0] ?? first;
      throw new ClawHubError(
        "CONFLICT",
        // The way out is in the message: plain-text API errors carry no hint.
        `Ambiguous skill slug "${slug}". Multiple publishers use this slug${
          live.length > 0 ? `: ${live.map((s) => `@${s.ownerHandle}/${slug}`).join(", ")}` : ""
        }${
          deleted.length > 0
            ? ` (deleted: ${deleted.map((s) => `@${s.ownerHandle}/${slug}`).join(", ")})`
            : ""
        }. Retry with ownerHandle, for example: ownerHandle=${example.ownerHandle} (@${example.ownerHandle}/${slug}).`,
        {
          details: {
            slug,
            matches: live.map((s) => ({
              ownerHandle: s.ownerHandle,
              slug,
              ref: `@${s.ownerHandle}/${slug}`,
            })),
          },
        },
      );
    }
    if (first.deletedAt !== null && !includeDeleted)
      throw new ClawHubError(
        "NOT_FOUND",
        `Skill not found: \`${slug}\` of @${first.ownerHandle} was deleted`,
      );
    return first;
  }

  /** A skill the principal may change (its publishers, admins, moderators), else 401/403/404. */
  async function managedSkill(
    principal: Principal | undefined,
    slug: string,
    ownerHandle?: string,
    includeDeleted = false,
  ): Promise<SkillRecord> {
    if (!principal) throw new ClawHubError("UNAUTHENTICATED", "Unauthorized: missing token");
    const skill = await requireSkill(principal, slug, ownerHandle, includeDeleted);
    if (!canManage(principal, skill))
      throw new ClawHubError(
        "FORBIDDEN",
        `Forbidden: @${skill.ownerHandle}/${skill.slug} is not yours`,
      );
    return skill;
  }

  /** Picks a version by number, by tag, or the latest. Deleted versions answer GONE. */
  async function pickVersion(
    skill: SkillRecord,
    sel: { version?: string | undefined; tag?: string | undefined },
  ) {
    let v: VersionRecord | undefined;
    if (sel.version) {
      v = await store.versionOf(skill.id, sel.version.replace(/^v/, ""));
      if (!v) throw new ClawHubError("NOT_FOUND", `Version ${sel.version} not found`);
    } else if (sel.tag) {
      const tags = await store.tagsOf(skill.id);
      // Own keys only: `tag=__proto__` or `constructor` names no version.
      const tagged = Object.hasOwn(tags, sel.tag) ? tags[sel.tag] : undefined;
      if (!tagged) throw new ClawHubError("NOT_FOUND", `Tag ${sel.tag} not found`);
      v = await store.versionOf(skill.id, tagged);
    } else {
      v = await latestVersion(skill);
    }
    if (!v) throw new ClawHubError("NOT_FOUND", "Version not found");
    if (v.deletedAt !== null) throw new ClawHubError("GONE", `Version ${v.version} was deleted`);
    return v;
  }

  /**
   * Archive bytes by hash, kept in memory up to a byte budget (blobs are immutable, named by
   * their sha256): a popular version is read from disk once, not on every download.
   */
  const blobCache = createBlobCache(blobs, options.blobCacheBytes ?? 64 * 1024 * 1024);
  /** Downloads counted in this process this hour, so repeats skip the write; bounded. */
  const recentlyCounted = createBoundedSet(100_000);

  const accounts = createAccounts({ store, now, random });
  const uploadTtlMs = options.uploadTtlMs ?? 3_600_000;
  const uploads = createUploads({ store, blobs, limits, now, random, ttlMs: uploadTtlMs });
  const moderation = createModeration({
    store,
    blobs,
    scanPool,
    now,
    requireSkill,
    pickVersion,
    reindex: indexSkill,
  });
  return {
    engine,
    limits,
    /** The org side: organisations, members and roles (see orgs.ts). */
    orgs: createOrgService({ store, now }),

    /** Loads every live skill into the search index (at start-up). */
    async rebuildIndex(): Promise<number> {
      const startedAt = now();
      for (const skill of await store.allSkills()) await indexSkill(skill);
      watermark = startedAt;
      lastSync = startedAt;
      return engine.status().documents;
    },

    syncIndex,

    ...accounts,

    // ---- publish ---------------------------------------------------------------------------

    /**
     * Publishes a version atomically: validates everything first (slug, version, paths, limits,
     * SKILL.md in lenient mode), stores blobs by hash, then writes the version in one
     * transaction. Visible whole or not at all.
     */
    async publish(principal: Principal, input: PublishInput) {
      const slug = input.slug.trim().toLowerCase();
      checkSlug(slug);
      const version = semver.valid(input.version);
      if (!version)
        throw new ClawHubError(
          "INVALID_ARGUMENT",
          `version "${String(input.version).slice(0, 60)}" is not valid semver (e.g. 1.0.0)`,
        );
      let owner = principal.user;
      const ownerHandle = input.ownerHandle?.replace(/^@/, "").toLowerCase();
      if (ownerHandle && ownerHandle !== principal.user.handle) {
        const target = await store.userByHandle(ownerHandle);
        if (!target) throw new ClawHubError("NOT_FOUND", `no user or org @${ownerHandle}`);
        if (!canPublishTo(principal, target.id))
          throw new ClawHubError("FORBIDDEN", `Forbidden: you may not publish to @${ownerHandle}`, {
            hint: "Org owners grant it: clawhub org add <org> <you> --role publisher.",
          });
        owner = target;
      }
      const org = await store.orgs.orgById(owner.id);
      if (input.visibility === "org" && !org)
        throw new ClawHubError(
          "INVALID_ARGUMENT",
          `visibility "org" needs an org namespace; @${owner.handle} is a user (use private)`,
        );
      const tags = [
        ...new Set(
          (input.tags && input.tags.length > 0 ? input.tags : ["latest"])
            .map((t) => t.trim())
            .filter(Boolean),
        ),
      ];
      for (const tag of tags) checkTag(tag);

      // Files: safe paths, limits, SKILL.md.
      if (input.files.length === 0) throw new ClawHubError("INVALID_ARGUMENT", "no files");
      if (input.files.length > limits.maxFiles) {
        throw new ClawHubError(
          "LIMIT_EXCEEDED",
          `too many files: ${input.files.length} (limit ${limits.maxFiles})`,
        );
      }
      const seen = new Set<string>();
      let total = 0;
      for (const f of input.files) {
        checkPublishPath(f.path, limits);
        const folded = f.path.normalize("NFC").toLowerCase();
        if (seen.has(folded))
          throw new ClawHubError("INVALID_ARGUMENT", `duplicate file path: ${f.path}`);
        seen.add(folded);
        if (f.bytes.length > limits.maxFileBytes) {
          throw new ClawHubError(
            "LIMIT_EXCEEDED",
            `${f.path} is ${formatBytes(f.bytes.length)}; the per-file limit is ${formatBytes(limits.maxFileBytes)}`,
          );
        }
        total += f.bytes.length;
      }
      // The installer's own name rules (bidi controls, a file and a folder of one name,
      // Unicode and case collisions): one validation for both sides.
      checkSkillPaths(
        input.files.map((f) => f.path),
        limits,
      );
      if (total > limits.maxTotalBytes) {
        throw new ClawHubError(
          "LIMIT_EXCEEDED",
          `the files add up to ${formatBytes(total)}; the limit is ${formatBytes(limits.maxTotalBytes)}`,
        );
      }
      const skillFile =
        input.files.find((f) => f.path === "SKILL.md") ??
        input.files.find((f) => f.path.toLowerCase() === "skill.md");
      if (!skillFile)
        throw new ClawHubError("INVALID_SKILL", "SKILL.md required at the root of the skill");
      let text: string;
      try {
        text = new TextDecoder("utf-8", { fatal: true }).decode(skillFile.bytes);
      } catch {
        throw new ClawHubError("INVALID_SKILL", "SKILL.md is not valid UTF-8");
      }
      const parsed = parseSkillMd(text, {
        mode: "lenient",
        folderName: slug,
        fileName: skillFile.path,
      });
      const errors = parsed.issues.filter((i) => i.severity === "error");
      if (errors.length > 0 || !parsed.manifest) {
        const lines = errors.map(
          (e) => `${e.file}${e.line ? `:${e.line}` : ""}: ${e.message} [${e.rule}]`,
        );
        throw new ClawHubError("INVALID_SKILL", `Invalid SKILL.md:\n${lines.join("\n")}`, {
          details: { issues: errors },
        });
      }
      const manifest = parsed.manifest;

      // A version that exists is refused before any blob is written: a failed publish leaves
      // no files behind (other failures leave unreferenced blobs for collectGarbage).
      const deleted = () =>
        new ClawHubError(
          "ALREADY_EXISTS",
          `@${owner.handle}/${slug} is deleted; undelete it before publishing`,
        );
      const prior = await store.findSkill(slug, {
        ownerHandle: owner.handle,
        includeDeleted: true,
      });
      if (prior?.deletedAt) throw deleted();
      // A new skill may not take a name that reads like an official one or another owner's:
      // the rule and the name it resembles are in the message. Admins publish official names.
      if (!prior && principal.user.role !== "admin") {
        await syncIndex();
        const lookalike = lookalikeOf(slug, owner.handle);
        if (lookalike)
          throw new ClawHubError("CONFLICT", `${lookalike.message} [${lookalike.rule}]`, {
            details: { rule: lookalike.rule, resembles: lookalike.resembles },
            hint: "Pick a name that reads differently; if this is your own project's official name, ask an admin to publish it.",
          });
      }
      if (prior && (await store.versionOf(prior.id, version)))
        throw new ClawHubError("ALREADY_EXISTS", `version ${version} of ${slug} already exists`, {
          hint: "Versions are immutable: publish a new version number.",
        });

      // A name the publisher sends is refused when too long or holding control characters; one
      // read from SKILL.md (lenient, as real skills are written) falls back to the slug.
      const sent = input.displayName?.trim();
      const displayName = sent
        ? checkDisplayName(sent)
        : manifest.displayName && !displayNameProblem(manifest.displayName)
          ? manifest.displayName
          : slug;
      // A display name may not disguise itself as an official tool's or another owner's skill
      // (UTS #39 confusables, src/trust/display-names.ts): checked when it is new or changes.
      if (principal.user.role !== "admin" && (!prior || prior.displayName !== displayName)) {
        await syncIndex();
        const spoof = checkDisplayNameSpoof(
          displayName,
          owner.handle,
          [...(byDisplaySkeleton.get(displaySkeleton(displayName)) ?? [])].flatMap((id) => {
            const s = listed.get(id)?.skill;
            return s?.visibility === "public"
              ? [{ displayName: s.displayName, owner: s.ownerHandle }]
              : [];
          }),
        );
        if (spoof)
          throw new ClawHubError("CONFLICT", `${spoof.message} [${spoof.rule}]`, {
            details: {
              rule: spoof.rule,
              ...(spoof.resembles ? { resembles: spoof.resembles } : {}),
            },
            hint: sent
              ? "Pick a display name in one script that reads as itself (--name)."
              : "Set another name in SKILL.md, or pass one with --name.",
          });
      }

      // Content: hashes, fingerprint, deterministic archive; blobs stored before the row.
      // Hashing and compressing yield to other requests: a 45 MiB publish is ~1 s of CPU.
      const hashed: Array<{ path: string; bytes: Buffer; sha256: string; contentType: string }> =
        [];
      for (const f of input.files)
        hashed.push({
          path: f.path,
          bytes: f.bytes,
          sha256: knownDigests(f.bytes)?.sha256 ?? (await digestInSlices("sha256", f.bytes, "hex")),
          contentType:
            f.contentType && f.contentType !== "application/octet-stream"
              ? f.contentType
              : contentTypeOf(f.path),
        });
      const fingerprint = fingerprintOf(hashed);
      // Serialized before any blob is written: a value it cannot store refuses the publish
      // with nothing left behind.
      let manifestJson: string;
      try {
        manifestJson = JSON.stringify({
          ...manifest,
          body: undefined,
          frontmatter: undefined,
          warnings: parsed.issues,
        });
      } catch (error) {
        throw new ClawHubError("INVALID_SKILL", `SKILL.md cannot be stored: ${String(error)}`);
      }
      // The scanner reads every file on a worker thread; its verdict is stored with the version.
      // Over its budget the skill is reported unanalysed (suspicious), never clean.
      const scanned = await scanOnPool(
        scanPool,
        input.files.map((f) => ({ path: f.path, bytes: f.bytes })),
      );
      const flagged = rulesOf(scanned.findings);
      // Modes come from the content (archiveFileMode), as when the CLI packs the same files.
      const zip = await createZipAsync(
        hashed.map((f) => {
          const crc = knownDigests(f.bytes)?.crc32;
          return { path: f.path, data: f.bytes, ...(crc !== undefined ? { crc32: crc } : {}) };
        }),
      );
      const integrity = `sha512-${await digestInSlices("sha512", zip, "base64")}`;
      for (const f of hashed) await blobs.put(f.bytes);
      const zipSha256 = await blobs.put(zip);

      const record = (skillId: string) => ({
        skill: {
          id: skillId,
          ownerId: owner.id,
          slug,
          displayName,
          summary: manifest.description || null,
          visibility: undefined as Visibility | undefined,
        },
        version: {
          id: randomUUID(),
          version,
          changelog: input.changelog ?? "",
          fingerprint,
          integrity,
          zipSha256,
          zipSize: zip.length,
          fileCount: hashed.length,
          unpackedSize: total,
          manifest: manifestJson,
          publisherId: principal.user.id,
          createdAt: now(),
        },
        files: hashed.map((f) => ({
          path: f.path,
          sha256: f.sha256,
          size: f.bytes.length,
          contentType: f.contentType,
        })),
        tags,
        now: now(),
        scan: {
          verdict: scanned.verdict,
          score: scanned.score,
          engine: scanned.scanner,
          findings: JSON.stringify(scanned.findings),
          scannedAt: now(),
        },
      });
      // A publisher's signature must name exactly this publish; the registry countersigns it.
      let signed: Awaited<ReturnType<typeof keys.checkSigned>> | undefined;
      if (input.attestation !== undefined && input.attestation !== null) {
        if (!options.log)
          throw new ClawHubError(
            "INVALID_ARGUMENT",
            "this registry keeps no transparency log to record a signed publish",
          );
        const {
          publisherKeyId: _k,
          publishedAt: _t,
          ...expected
        } = statementOf(owner.handle, slug, {
          version,
          zipSha256,
          integrity,
          fingerprint,
          createdAt: now(),
        });
        signed = await keys.checkSigned(principal, input.attestation, {
          ...expected,
          registry: options.log.origin,
        });
      }
      // The statement the transparency log records, written in the publish's transaction.
      const logged = (rec: ReturnType<typeof record>) =>
        options.log
          ? {
              entry: signed
                ? options.log.countersigned(signed.envelope)
                : options.log.entryFor(statementOf(owner.handle, slug, rec.version)),
              sign: options.log.sign,
            }
          : undefined;

      for (let attempt = 0; ; attempt++) {
        // The first attempt uses the lookup above; a retry (a concurrent first publish created
        // the skill meanwhile) reads it again.
        const existing =
          attempt === 0
            ? prior
            : await store.findSkill(slug, { ownerHandle: owner.handle, includeDeleted: true });
        if (existing?.deletedAt) throw deleted();
        const rec = record(existing?.id ?? randomUUID());
        rec.skill.visibility = existing
          ? input.visibility
          : (input.visibility ?? org?.defaultVisibility ?? "public");
        try {
          const log = logged(rec);
          // A suspicious version is held for a moderator from its first moment (same
          // transaction); malicious ones are blocked by their verdict alone.
          const review = scanned.verdict === "suspicious" ? heldReview(flagged, now()) : undefined;
          await store.publish({ ...rec, ...(log ? { log } : {}), ...(review ? { review } : {}) });
          const skill = await requireSkill(principal, slug, owner.handle);
          await indexSkill(skill);
          // The version is published either way: a notice that cannot be written is logged,
          // never turned into a failed publish the client would retry.
          if (review)
            await moderation
              .notify(
                skill,
                { ...rec.version, skillId: skill.id, deletedAt: null },
                "moderation.held",
                `${review.reason}. It is served to no one else until a moderator approves it; \`clawhub moderation status\` shows the findings, \`rescan\` and \`appeal\` ask again.`,
              )
              .catch((error: unknown) =>
                options.logger?.(
                  `moderation notice for ${slug}@${version} failed: ${String(error)}`,
                ),
              );
          return {
            ok: true as const,
            skillId: skill.id,
            versionId: rec.version.id,
            slug,
            version,
            ownerHandle: owner.handle,
            visibility: skill.visibility,
            fingerprint,
            integrity: rec.version.integrity,
            status: "published" as const,
            publicationStatus: "published" as const,
            warnings: parsed.issues,
            scan: { verdict: scanned.verdict, findings: scanned.findings },
            moderation: {
              availability: availabilityOf(scanned.verdict, review),
              ...(review ? { reason: review.reason, rules: flagged } : {}),
            },
          };
        } catch (error) {
          // A concurrent first publish created the skill row under another id: retry once with it.
          const lost =
            error instanceof ClawHubError &&
            error.code === "ALREADY_EXISTS" &&
            !existing &&
            attempt === 0;
          if (!lost) throw error;
        }
      }
    },

    // ---- reads: every one takes the reader, and sees only what they may -------------------

    requireSkill,
    pickVersion,
    latestVersion,
    manifestOf,
    canManage,
    canSee,

    tagsOf: (skill: SkillRecord) => store.tagsOf(skill.id),
    /** A version's scan report (none: published before the scanner, not scanned). */
    scanOf: (version: VersionRecord) => store.scanOf(version.id),
    filesOf: (version: VersionRecord) => store.filesOf(version.id),
    versionsOf: (skill: SkillRecord, page?: { limit: number; offset: number }) =>
      store.listVersions(skill.id, page),

    /** A page of the skills the reader may see. */
    listSkills(
      reader: Principal | undefined,
      opts: { sort: SkillSort; limit: number; offset: number; ownerHandle?: string | undefined },
    ) {
      return store.listSkills({
        sort: opts.sort,
        limit: opts.limit,
        offset: opts.offset,
        scope: readScopeOf(reader),
        ...(opts.ownerHandle ? { ownerHandle: opts.ownerHandle } : {}),
      });
    },

    async search(
      reader: Principal | undefined,
      query: string,
      opts: {
        limit?: number;
        ownerHandle?: string;
        mode?: "default" | "exact";
        nonSuspiciousOnly?: boolean;
      } = {},
    ) {
      const q = query.trim();
      if (q === "") throw new ClawHubError("INVALID_ARGUMENT", "q is required");
      if (q.length > MAX_QUERY_LENGTH)
        throw new ClawHubError(
          "INVALID_ARGUMENT",
          `q is too long (${q.length} characters; the limit is ${MAX_QUERY_LENGTH})`,
        );
      await syncIndex();
      const filtered = (hidden.size > 0 || blocked.size > 0) && readScopeOf(reader) !== "all";
      const status = engine.status();
      const cacheKey =
        !filtered || !reader
          ? JSON.stringify([
              generation,
              status.embedded,
              filtered,
              q,
              opts.ownerHandle ?? "",
              opts.mode ?? "",
              opts.limit ?? 20,
              opts.nonSuspiciousOnly === true,
            ])
          : undefined;
      const cachedHits = cacheKey ? searchCache.get(cacheKey) : undefined;
      const hits =
        cachedHits ??
        (await engine.search(q, {
          ...(opts.ownerHandle ? { owner: opts.ownerHandle } : {}),
          ...(opts.mode ? { mode: opts.mode } : {}),
          // Only versions the scanner called clean (not scanned is not clean).
          ...(opts.nonSuspiciousOnly ? { excludeFlagged: true } : {}),
          // Filtered inside the engine, so that hidden skills take no place among the results.
          ...(filtered
            ? {
                accept: (id: string) => {
                  const entry = listed.get(id);
                  return entry !== undefined && visibleInSearch(reader, entry);
                },
              }
            : {}),
          limit: Math.min(Math.max(opts.limit ?? 20, 1), 200),
        }));
      if (cacheKey && !cachedHits) {
        searchCache.set(cacheKey, hits);
        if (searchCache.size > 1000) searchCache.delete(searchCache.keys().next().value as string);
      }
      const out = [];
      for (const hit of hits) {
        const entry = listed.get(hit.id);
        if (entry && visibleInSearch(reader, entry))
          out.push({
            skill: entry.skill,
            latest: entry.latest,
            score: hit.score,
            parts: hit.parts,
          });
      }
      return out;
    },

    /** Index status as the reader may see it: counts cover only skills they may see. */
    searchStatus(reader?: Principal) {
      const status = engine.status();
      if (readScopeOf(reader) === "all") return status;
      let documents = 0;
      let pending = 0;
      for (const entry of listed.values()) {
        if (!canSee(reader, entry.skill)) continue;
        documents++;
        if (engine.isPending(entry.skill.id)) pending++;
      }
      return { ...status, documents, pending, embedded: documents - pending };
    },

    /** Maps a local fingerprint to a published version. */
    async resolve(reader: Principal | undefined, slug: string, hash: string, ownerHandle?: string) {
      const skill = await requireSkill(reader, slug, ownerHandle);
      const match = /^[0-9a-f]{64}$/.test(hash)
        ? await store.versionByFingerprint(skill.id, hash)
        : undefined;
      const latest = await latestVersion(skill);
      return {
        slug: skill.slug,
        match: match ? { version: match.version } : null,
        latestVersion: latest ? { version: latest.version } : null,
      };
    },

    /** Returns a version's archive and counts the download once per identity and hour. */
    async download(reader: Principal | undefined, sel: VersionSelector & { identity: string }) {
      const skill = await requireSkill(reader, sel.slug, sel.ownerHandle);
      // The latest version as the search listing holds it, when that listing is of this very
      // skill row (same updatedAt: every publish, tag move or deletion changes it, on any
      // replica); else from the database.
      const entry = listed.get(skill.id);
      const fromListing =
        !sel.version && !sel.tag && entry?.latest && entry.skill.updatedAt === skill.updatedAt
          ? entry
          : undefined;
      const v = fromListing?.latest ?? (await pickVersion(skill, sel));
      if (v.deletedAt !== null) throw new ClawHubError("GONE", `Version ${v.version} was deleted`);
      // The listing holds the latest version's availability (from its scan and review, read
      // when the row was indexed): a download of the latest reads no scan or review row.
      const availability = async () =>
        fromListing ? fromListing.availability : (await moderation.stateOf(v)).availability;
      if (!canManage(reader, skill)) {
        const state = await availability();
        if (state !== "served")
          throw new ClawHubError(
            "FORBIDDEN",
            state === "held"
              ? `${skill.slug}@${v.version} is held for review: the scanner flagged it and a moderator has not decided yet`
              : `${skill.slug}@${v.version} is blocked: the scanner found malware in it, or a moderator rejected it`,
            {
              hint: `See why: clawhub scan @${skill.ownerHandle}/${skill.slug} --version ${v.version}`,
            },
          );
      }
      const zip = await blobCache.get(v.zipSha256);
      const hour = Math.floor(now() / 3_600_000);
      const countKey = `${skill.id}\0${sel.identity}\0${hour}`;
      // Counted already this hour (here): the database would say so too; skip the write.
      if (recentlyCounted.has(countKey)) return { skill, version: v, zip };
      try {
        const counted = await store.recordDownload(skill.id, sel.identity, hour);
        recentlyCounted.add(countKey);
        // Search results come from the listing kept beside the index: count there too, so a
        // search never shows fewer downloads than the skill's page (a download changes no
        // updatedAt, so the index sync would not see it).
        const entry = counted ? listed.get(skill.id) : undefined;
        if (entry) entry.skill = { ...entry.skill, downloads: entry.skill.downloads + 1 };
      } catch (error) {
        // Counting is best effort: a full disk or a busy database never fails a download.
        options.logger?.(`download count for ${skill.slug} not recorded: ${String(error)}`);
      }
      return { skill, version: v, zip };
    },

    /**
     * Resolves what an install asks for: nothing or `latest`, an exact version, a semver range
     * (its highest live match) or a tag. One request instead of a client listing every version.
     */
    async resolveSelector(
      reader: Principal | undefined,
      slug: string,
      selector: string,
      ownerHandle?: string,
    ) {
      const skill = await requireSkill(reader, slug, ownerHandle);
      const latest = await latestVersion(skill);
      const sel = selector.trim();
      const answer = (v: VersionRecord, resolvedFrom: "latest" | "version" | "range" | "tag") => ({
        slug: skill.slug,
        ownerHandle: skill.ownerHandle,
        version: v.version,
        resolvedFrom,
        latestVersion: latest ? { version: latest.version } : null,
      });
      if (sel === "" || sel === "latest") {
        if (!latest)
          throw new ClawHubError(
            "NOT_FOUND",
            `@${skill.ownerHandle}/${skill.slug} has no published version`,
          );
        return answer(latest, "latest");
      }
      if (semver.valid(sel)) return answer(await pickVersion(skill, { version: sel }), "version");
      if (semver.validRange(sel)) {
        const live = await store.listVersions(skill.id);
        const best = semver.maxSatisfying(
          live.map((v) => v.version),
          sel,
        );
        const v = best ? live.find((x) => x.version === best) : undefined;
        if (!v)
          throw new ClawHubError(
            "NOT_FOUND",
            `no version of @${skill.ownerHandle}/${skill.slug} satisfies ${sel.slice(0, 60)}`,
            {
              hint: `Published: ${
                live
                  .map((x) => x.version)
                  .slice(0, 20)
                  .join(", ") || "none"
              }`,
            },
          );
        return answer(v, "range");
      }
      return answer(await pickVersion(skill, { tag: sel }), "tag");
    },

    /**
     * Deletes expired upload tickets, then removes blobs that no version, file or upload
     * refers to and that are older than
     * `graceMs` (a publish in flight on another replica writes its blobs before its rows), and
     * temporary files of writes that never finished. Safe while serving.
     */
    async collectGarbage(opts: { graceMs?: number } = {}) {
      const grace = opts.graceMs ?? 3_600_000;
      const startedAt = now();
      // Upload tickets past their lifetime (or past a shorter grace an admin asks for) go
      // first, so that their blobs are unreferenced below: an upload never published does not
      // hold disk forever.
      const uploadsExpired = await store.deleteUploadsBefore(
        startedAt - Math.min(uploadTtlMs, grace),
      );
      const refs = await store.blobReferences();
      let scanned = 0;
      let removed = 0;
      let bytes = 0;
      for await (const blob of blobs.list()) {
        scanned++;
        if (refs.has(blob.sha256) || startedAt - blob.mtimeMs < grace) continue;
        await blobs.delete(blob.sha256);
        removed++;
        bytes += blob.size;
      }
      const temporary = await blobs.sweepTemporary(grace, startedAt);
      return { scanned, removed, bytes, temporary, uploadsExpired };
    },

    // ---- transparency log (src/registry/log.ts) ----------------------------------------------

    /** Publisher keys (src/registry/keys.ts). */
    keys,
    /** Held versions, reviews, rescans, appeals, notifications (src/registry/moderation.ts). */
    moderation,

    /** The log, or NOT_FOUND when this registry keeps none. */
    transparencyLog: requireLog,

    /**
     * A version's attestation: its envelope and log index, the latest checkpoint, the inclusion
     * proof against it and, with `since`, the consistency proof from that older size.
     */
    async attestation(reader: Principal | undefined, sel: VersionSelector, since?: number) {
      const log = requireLog();
      const skill = await requireSkill(reader, sel.slug, sel.ownerHandle);
      const version = await pickVersion(skill, sel);
      const entry = await log.entryOf(version.id);
      if (!entry)
        throw new ClawHubError(
          "NOT_FOUND",
          `${skill.slug}@${version.version} is not in the transparency log yet`,
          { hint: "Versions published before the log are logged when the registry next starts." },
        );
      const checkpoint = await log.checkpoint();
      return {
        skill,
        version,
        entry,
        checkpoint,
        inclusion: await log.inclusion(entry.index, checkpoint.size),
        // A `since` past the log's size gets no proof: the client sees the smaller checkpoint
        // and reports the rollback itself.
        consistency:
          since === undefined || since > checkpoint.size
            ? undefined
            : await log.consistency(since, checkpoint.size),
      };
    },

    /**
     * A version's log entry and whether its statement matches the version as stored (a row or
     * blob edited after the publish no longer does); undefined when not logged.
     */
    async logEntryOf(version: VersionRecord) {
      const entry = await options.log?.entryOf(version.id);
      if (!entry) return undefined;
      let statement: PublishAttestation | undefined;
      try {
        statement = readPublishStatement(payloadOf(parseEnvelope(entry.envelope)));
      } catch {
        statement = undefined;
      }
      const expected = statementOf("", "", version);
      const matches =
        statement !== undefined &&
        statement.sha256 === expected.sha256 &&
        statement.sha512 === expected.sha512 &&
        statement.fingerprint === expected.fingerprint &&
        statement.version === version.version;
      return { entry, statement, matches };
    },

    /** Log leaves from `start`; the envelope of a version the reader may not see is withheld. */
    async logEntries(reader: Principal | undefined, start: number, limit: number) {
      const log = requireLog();
      const out = [];
      for (const entry of await log.entries(start, limit)) {
        const version = await store.versionById(entry.versionId);
        const skill = version && (await store.skillById(version.skillId));
        out.push({ ...entry, visible: Boolean(skill && canSee(reader, skill)) });
      }
      return out;
    },

    /**
     * Logs the versions published before the log (oldest first, 100 a transaction): run at
     * start, so an upgraded registry's whole history is in its tree. Returns how many.
     */
    async logUnlogged(): Promise<number> {
      const log = options.log;
      if (!log) return 0;
      let count = 0;
      for (;;) {
        const ids = await store.log.unlogged(100);
        if (ids.length === 0) return count;
        const entries = [];
        for (const id of ids) {
          const version = await store.versionById(id);
          const skill = version && (await store.skillById(version.skillId));
          if (!version || !skill) continue;
          entries.push({
            versionId: id,
            ...log.entryFor(statementOf(skill.ownerHandle, skill.slug, version)),
          });
        }
        await store.log.append(entries, log.sign, now());
        count += entries.length;
      }
    },

    /** Re-hashes a version's stored archive against the digests recorded at publish. */
    async verifyArchive(reader: Principal | undefined, sel: VersionSelector) {
      const skill = await requireSkill(reader, sel.slug, sel.ownerHandle);
      const version = await pickVersion(skill, sel);
      let intact = false;
      try {
        const zip = await blobs.get(version.zipSha256);
        intact = sha256Hex(zip) === version.zipSha256 && integrityOf(zip) === version.integrity;
      } catch (error) {
        if (!(error instanceof ClawHubError && error.code === "NOT_FOUND")) throw error;
      }
      return { skill, version, intact };
    },

    async file(reader: Principal | undefined, sel: VersionSelector & { path: string }) {
      const skill = await requireSkill(reader, sel.slug, sel.ownerHandle);
      const v = await pickVersion(skill, sel);
      const file = (await store.filesOf(v.id)).find((f) => f.path === sel.path);
      if (!file)
        throw new ClawHubError(
          "NOT_FOUND",
          `File ${sel.path} not found in ${skill.slug}@${v.version}`,
        );
      return { file, bytes: await blobs.get(file.sha256), version: v };
    },

    // ---- writes on existing skills ---------------------------------------------------------

    async setDeleted(
      principal: Principal | undefined,
      slug: string,
      deleted: boolean,
      ownerHandle?: string,
    ) {
      const skill = await managedSkill(principal, slug, ownerHandle, true);
      await store.setSkillDeleted(skill.id, deleted ? now() : null, now());
      await indexSkill({ ...skill, deletedAt: deleted ? now() : null });
      return { ok: true as const };
    },

    async setTag(
      principal: Principal | undefined,
      slug: string,
      tag: string,
      version: string,
      ownerHandle?: string,
    ) {
      const skill = await managedSkill(principal, slug, ownerHandle);
      checkTag(tag);
      const v = await pickVersion(skill, { version });
      await store.setTag(skill.id, tag, v.id, now());
      await indexSkill(skill);
      return { ok: true as const, slug: skill.slug, tag, version: v.version };
    },

    /** Changes who may see a skill (its publishers, admins and moderators). */
    async setVisibility(
      principal: Principal | undefined,
      slug: string,
      visibility: unknown,
      ownerHandle?: string,
    ) {
      const v = parseVisibility(visibility);
      if (!v) throw new ClawHubError("INVALID_ARGUMENT", "visibility is required");
      const skill = await managedSkill(principal, slug, ownerHandle, true);
      if (v === "org" && !(await store.orgs.orgById(skill.ownerId)))
        throw new ClawHubError(
          "INVALID_ARGUMENT",
          `visibility "org" needs an org namespace; @${skill.ownerHandle} is a user (use private)`,
        );
      await store.setSkillVisibility(skill.id, v, now());
      await indexSkill({ ...skill, visibility: v });
      return { ok: true as const, slug: skill.slug, ownerHandle: skill.ownerHandle, visibility: v };
    },

    async star(principal: Principal | undefined, slug: string, on: boolean, ownerHandle?: string) {
      if (!principal) throw new ClawHubError("UNAUTHENTICATED", "Unauthorized: missing token");
      const skill = await requireSkill(principal, slug, ownerHandle);
      if (on) {
        const added = await store.addStar(principal.user.id, skill.id, now());
        return { ok: true as const, starred: true, alreadyStarred: !added };
      }
      const removed = await store.removeStar(principal.user.id, skill.id);
      return { ok: true as const, unstarred: true, alreadyUnstarred: !removed };
    },

    /**
     * Counts an install once per client (user, else address) and day: CLIs report every
     * install, reinstall and CI run, and a count that any loop can inflate says nothing.
     */
    async recordInstall(
      reader: Principal | undefined,
      identity: string,
      slug: string,
      ownerHandle?: string,
    ) {
      const skill = await requireSkill(reader, slug, ownerHandle);
      const day = Math.floor(now() / 86_400_000);
      await store.recordInstall(skill.id, reader ? `user:${reader.user.id}` : identity, day);
    },

    ...uploads,
  };
}

/** sha256 of a token, as stored (exposed for tests and tools). */
export function tokenHash(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

/** A byte-bounded LRU over a blob store; entries over an eighth of the budget are not kept. */
function createBlobCache(blobs: BlobStore, budget: number) {
  const entries = new Map<string, Buffer>();
  let bytes = 0;
  return {
    async get(hash: string): Promise<Buffer> {
      const hit = entries.get(hash);
      if (hit) {
        entries.delete(hash);
        entries.set(hash, hit);
        return hit;
      }
      const data = await blobs.get(hash);
      if (data.byteLength <= budget / 8) {
        entries.set(hash, data);
        bytes += data.byteLength;
        for (const [key, value] of entries) {
          if (bytes <= budget) break;
          entries.delete(key);
          bytes -= value.byteLength;
        }
      }
      return data;
    },
  };
}

/** A set that forgets its oldest members past `max`. */
function createBoundedSet(max: number) {
  const members = new Set<string>();
  return {
    has: (key: string) => members.has(key),
    add(key: string) {
      members.add(key);
      if (members.size > max) members.delete(members.values().next().value as string);
    },
  };
}
