/**
 * Who may see and change what: the registry's one place for visibility and org roles. Every read
 * goes through `canSee` (single skills) or `readScopeOf` (listings, in SQL), so a skill outside a
 * reader's view is absent everywhere: search, listings, counts, files and downloads.
 */
import { ClawHubError } from "../errors/index.ts";
import { VISIBILITIES } from "../schema/index.ts";
import type { Membership, ReadScope, SkillRecord, User, Visibility } from "./store/index.ts";

/** Who is calling: a user authenticated by an API token, with their org memberships. */
export interface Principal {
  user: User;
  tokenId: string;
  memberships: readonly Membership[];
}

/** Parses a visibility given by a user (flag, API field); undefined when not given. */
export function parseVisibility(value: unknown, what = "visibility"): Visibility | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  if (typeof value === "string" && (VISIBILITIES as readonly string[]).includes(value))
    return value as Visibility;
  throw new ClawHubError(
    "INVALID_ARGUMENT",
    `${what} must be one of ${VISIBILITIES.join(", ")} (got ${JSON.stringify(value).slice(0, 40)})`,
  );
}

const seesEverything = (p: Principal | undefined) =>
  p !== undefined && (p.user.role === "admin" || p.user.role === "moderator");

/** Owner ids whose `private` skills the principal may read: their own and orgs they publish to. */
function privateOwners(p: Principal): string[] {
  return [p.user.id, ...p.memberships.filter((m) => m.role !== "reader").map((m) => m.orgId)];
}

/** What a reader may list, for the store's SQL filter. */
export function readScopeOf(p: Principal | undefined): ReadScope {
  if (!p) return { orgOwners: [], privateOwners: [] };
  if (seesEverything(p)) return "all";
  return { orgOwners: p.memberships.map((m) => m.orgId), privateOwners: privateOwners(p) };
}

/** Whether the principal may read this skill (any endpoint, any version). */
export function canSee(
  p: Principal | undefined,
  skill: Pick<SkillRecord, "ownerId" | "visibility">,
) {
  if (skill.visibility === "public") return true;
  if (!p) return false;
  if (seesEverything(p) || p.user.id === skill.ownerId) return true;
  const m = p.memberships.find((x) => x.orgId === skill.ownerId);
  if (!m) return false;
  return skill.visibility === "org" || m.role !== "reader";
}

/** Whether the principal may publish to, tag, delete and undelete in this namespace. */
export function canPublishTo(p: Principal | undefined, ownerId: string): boolean {
  if (!p) return false;
  if (p.user.role === "admin" || p.user.id === ownerId) return true;
  return p.memberships.some((m) => m.orgId === ownerId && m.role !== "reader");
}

/** Whether the principal manages a skill: its publishers, plus admins and moderators. */
export function canManage(p: Principal | undefined, skill: Pick<SkillRecord, "ownerId">) {
  return canPublishTo(p, skill.ownerId) || seesEverything(p);
}
