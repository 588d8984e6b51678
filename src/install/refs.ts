import { ClawHubError } from "../errors/index.ts";
import { HANDLE, isName, SLUG } from "../schema/index.ts";

/** A parsed install reference: `[@owner/]slug[@version|@range|@tag]`. */
export interface SkillRef {
  ownerHandle?: string;
  slug: string;
  selector?: string;
}

/** Parses `@owner/slug@^1.2`, `owner/slug`, `slug@beta`... and refuses anything path-like. */
export function parseSkillRef(spec: string): SkillRef {
  let rest = spec.trim();
  let ownerHandle: string | undefined;
  const slash = rest.indexOf("/");
  if (slash >= 0) {
    ownerHandle = rest.slice(0, slash).replace(/^@/, "").toLowerCase();
    rest = rest.slice(slash + 1);
  }
  const at = rest.indexOf("@");
  const slug = (at >= 0 ? rest.slice(0, at) : rest).toLowerCase();
  const selector = at >= 0 ? rest.slice(at + 1) : undefined;
  const bad = (why: string) =>
    new ClawHubError("INVALID_ARGUMENT", `invalid skill reference "${spec}": ${why}`, {
      hint: "Use slug, @owner/slug, or add @1.2.3, @^1.2 or @tag.",
    });
  if (!isName(SLUG, slug)) throw bad(`bad slug: ${SLUG.rule}`);
  if (ownerHandle !== undefined && !isName(HANDLE, ownerHandle))
    throw bad(`bad owner: ${HANDLE.rule}`);
  if (selector !== undefined && selector === "") throw bad("empty version after @");
  return { ...(ownerHandle ? { ownerHandle } : {}), slug, ...(selector ? { selector } : {}) };
}

/** The lock key the official CLI uses: `slug`, or `@owner/slug` for owner-scoped installs. */
export function lockKeyOf(ref: Pick<SkillRef, "slug" | "ownerHandle">): string {
  return ref.ownerHandle ? `@${ref.ownerHandle}/${ref.slug}` : ref.slug;
}
