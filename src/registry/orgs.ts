/**
 * Organisations: namespaces (`@org/slug`) with members. Owners manage members and the
 * namespace's default visibility; publishers publish; readers read `org` skills. An org always
 * keeps at least one owner, so that nobody is locked out of its namespace.
 */
import { randomUUID } from "node:crypto";
import { ClawHubError } from "../errors/index.ts";
import { checkDisplayName, checkName, HANDLE, ORG_ROLES, type OrgView } from "../schema/index.ts";
import { type Principal, parseVisibility } from "./access.ts";
import type { Membership, OrgRecord, OrgRole, RegistryStore } from "./store/index.ts";

/** Parses an org role given by a user. */
export function parseRole(value: unknown): OrgRole {
  if (typeof value === "string" && (ORG_ROLES as readonly string[]).includes(value))
    return value as OrgRole;
  throw new ClawHubError(
    "INVALID_ARGUMENT",
    `role must be one of ${ORG_ROLES.join(", ")} (got ${JSON.stringify(value ?? null).slice(0, 40)})`,
  );
}

/** The org operations of the registry service. */
export function createOrgService(options: { store: RegistryStore; now: () => number }) {
  const { store, now } = options;
  const signedIn = (p: Principal | undefined): Principal => {
    if (!p) throw new ClawHubError("UNAUTHENTICATED", "Unauthorized: missing token");
    return p;
  };
  const roleIn = (p: Principal, org: OrgRecord): OrgRole | null =>
    p.memberships.find((m) => m.orgId === org.id)?.role ?? null;
  /** The org, if the caller may see it: members and admins; others get "not found". */
  async function visibleOrg(p: Principal, handle: string): Promise<OrgRecord> {
    const org = await store.orgs.orgByHandle(handle.replace(/^@/, "").toLowerCase());
    if (!org || (roleIn(p, org) === null && p.user.role !== "admin"))
      throw new ClawHubError("NOT_FOUND", `org @${handle.replace(/^@/, "")} not found`);
    return org;
  }
  async function ownedOrg(p: Principal, handle: string): Promise<OrgRecord> {
    const org = await visibleOrg(p, handle);
    if (roleIn(p, org) !== "owner" && p.user.role !== "admin")
      throw new ClawHubError("FORBIDDEN", `Forbidden: only owners of @${org.handle} manage it`);
    return org;
  }
  const view = (p: Principal, org: OrgRecord, members?: Membership[]): OrgView => ({
    handle: org.handle,
    displayName: org.displayName,
    defaultVisibility: org.defaultVisibility,
    createdAt: org.createdAt,
    role: roleIn(p, org),
    ...(members
      ? { members: members.map((m) => ({ handle: m.handle, role: m.role, since: m.createdAt })) }
      : {}),
  });

  return {
    /** Creates an org with the caller as its first owner. */
    async create(
      principal: Principal | undefined,
      input: { handle?: unknown; displayName?: unknown; defaultVisibility?: unknown },
    ): Promise<OrgView> {
      const p = signedIn(principal);
      if (typeof input.handle !== "string")
        throw new ClawHubError("INVALID_ARGUMENT", "handle is required");
      const handle = input.handle.replace(/^@/, "").trim().toLowerCase();
      checkName(HANDLE, handle);
      const displayName =
        typeof input.displayName === "string" && input.displayName.trim()
          ? checkDisplayName(input.displayName.trim())
          : null;
      const org = await store.orgs.createOrg(
        {
          id: randomUUID(),
          handle,
          displayName,
          defaultVisibility: parseVisibility(input.defaultVisibility, "defaultVisibility") ?? "org",
          createdAt: now(),
        },
        p.user.id,
      );
      return { ...view(p, org), role: "owner" };
    },

    /** The caller's orgs (every org, for an admin who asks for all). */
    async list(principal: Principal | undefined, all = false): Promise<OrgView[]> {
      const p = signedIn(principal);
      const orgs = await store.orgs.listOrgs(
        all && p.user.role === "admin" ? undefined : p.user.id,
      );
      return orgs.map((o) => view(p, o));
    },

    /** One org with its members (members and admins only). */
    async show(principal: Principal | undefined, handle: string): Promise<OrgView> {
      const p = signedIn(principal);
      const org = await visibleOrg(p, handle);
      return view(p, org, await store.orgs.members(org.id));
    },

    /** Adds a member or changes their role (owners only); never demotes the last owner. */
    async setMember(
      principal: Principal | undefined,
      orgHandle: string,
      userHandle: string,
      role: unknown,
    ): Promise<OrgView> {
      const p = signedIn(principal);
      const org = await ownedOrg(p, orgHandle);
      const r = parseRole(role ?? "publisher");
      const user = await store.userByHandle(userHandle.replace(/^@/, "").toLowerCase());
      if (!user || (await store.orgs.orgById(user.id)))
        throw new ClawHubError("NOT_FOUND", `user @${userHandle.replace(/^@/, "")} not found`);
      const members = await store.orgs.members(org.id);
      if (r !== "owner") await keepAnOwner(org, members, user.id);
      await store.orgs.setMember(org.id, user.id, r, now());
      return view(p, org, await store.orgs.members(org.id));
    },

    /** Removes a member (owners only, or a member leaving); never the last owner. */
    async removeMember(
      principal: Principal | undefined,
      orgHandle: string,
      userHandle: string,
    ): Promise<OrgView> {
      const p = signedIn(principal);
      const handle = userHandle.replace(/^@/, "").toLowerCase();
      const org =
        handle === p.user.handle ? await visibleOrg(p, orgHandle) : await ownedOrg(p, orgHandle);
      const members = await store.orgs.members(org.id);
      const member = members.find((m) => m.handle === handle);
      if (!member)
        throw new ClawHubError("NOT_FOUND", `@${handle} is not a member of @${org.handle}`);
      await keepAnOwner(org, members, member.userId);
      await store.orgs.removeMember(org.id, member.userId);
      return view(p, org, await store.orgs.members(org.id));
    },

    /** Changes the visibility that new skills of the namespace get by default (owners only). */
    async setDefaultVisibility(
      principal: Principal | undefined,
      orgHandle: string,
      visibility: unknown,
    ): Promise<OrgView> {
      const p = signedIn(principal);
      const org = await ownedOrg(p, orgHandle);
      const v = parseVisibility(visibility, "defaultVisibility");
      if (!v) throw new ClawHubError("INVALID_ARGUMENT", "defaultVisibility is required");
      await store.orgs.setDefaultVisibility(org.id, v);
      return view(p, { ...org, defaultVisibility: v });
    },
  };

  async function keepAnOwner(org: OrgRecord, members: Membership[], losing: string) {
    const owners = members.filter((m) => m.role === "owner" && m.userId !== losing);
    if (owners.length === 0 && members.some((m) => m.userId === losing && m.role === "owner"))
      throw new ClawHubError("CONFLICT", `that would leave @${org.handle} without an owner`, {
        hint: "Make another member an owner first (clawhub org add <org> <user> --role owner).",
      });
  }
}
