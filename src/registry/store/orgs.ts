import type { Kysely } from "kysely";
import { ClawHubError } from "../../errors/index.ts";
import type { OrgRole, Visibility } from "../../schema/index.ts";
import type { Database } from "./schema.ts";

export type { OrgRole, Visibility };

/** An organisation: a namespace (`@org/slug`) with members. */
export interface OrgRecord {
  id: string;
  handle: string;
  displayName: string | null;
  defaultVisibility: Visibility;
  createdAt: number;
}

/** One membership, seen from the org (`handle` is the member's) or from the user (the org's). */
export interface Membership {
  orgId: string;
  userId: string;
  handle: string;
  role: OrgRole;
  createdAt: number;
}

/** Organisations and their members; part of the RegistryStore. */
export interface OrgStore {
  /** Creates the org's account row, the org and its first owner in one transaction. */
  createOrg(org: OrgRecord, ownerId: string): Promise<OrgRecord>;
  orgByHandle(handle: string): Promise<OrgRecord | undefined>;
  orgById(id: string): Promise<OrgRecord | undefined>;
  /** Every org, or the orgs a user belongs to. */
  listOrgs(userId?: string): Promise<OrgRecord[]>;
  setDefaultVisibility(orgId: string, visibility: Visibility): Promise<void>;
  /** Adds a member or changes their role. */
  setMember(orgId: string, userId: string, role: OrgRole, now: number): Promise<void>;
  removeMember(orgId: string, userId: string): Promise<boolean>;
  members(orgId: string): Promise<Membership[]>;
  /** The orgs a user belongs to, with the org's handle. */
  membershipsOf(userId: string): Promise<Membership[]>;
}

const toOrg = (r: {
  id: string;
  handle: string;
  display_name: string | null;
  default_visibility: Visibility;
  created_at: number;
}): OrgRecord => ({
  id: r.id,
  handle: r.handle,
  displayName: r.display_name,
  defaultVisibility: r.default_visibility,
  createdAt: Number(r.created_at),
});

/** The org part of the Kysely store. */
export function createOrgStore(db: Kysely<Database>): OrgStore {
  const orgQuery = () =>
    db
      .selectFrom("orgs")
      .innerJoin("users", "users.id", "orgs.id")
      .select([
        "orgs.id as id",
        "users.handle as handle",
        "users.display_name as display_name",
        "orgs.default_visibility as default_visibility",
        "orgs.created_at as created_at",
      ]);
  /** Memberships where `by` equals `id`, with the handle of the account on the other side. */
  async function memberships(
    by: "org_members.org_id" | "org_members.user_id",
    other: "org_members.org_id" | "org_members.user_id",
    id: string,
  ): Promise<Membership[]> {
    const rows = await db
      .selectFrom("org_members")
      .innerJoin("users", "users.id", other)
      .select([
        "org_members.org_id as org_id",
        "org_members.user_id as user_id",
        "users.handle as handle",
        "org_members.role as role",
        "org_members.created_at as created_at",
      ])
      .where(by, "=", id)
      .orderBy("users.handle")
      .execute();
    return rows.map((r) => ({
      orgId: r.org_id,
      userId: r.user_id,
      handle: r.handle,
      role: r.role,
      createdAt: Number(r.created_at),
    }));
  }
  return {
    async createOrg(org, ownerId) {
      try {
        await db.transaction().execute(async (trx) => {
          await trx
            .insertInto("users")
            .values({
              id: org.id,
              handle: org.handle,
              display_name: org.displayName,
              role: "user",
              // An org's account never signs in: it has no tokens and stays disabled.
              disabled: 1,
              created_at: org.createdAt,
            })
            .execute();
          await trx
            .insertInto("orgs")
            .values({
              id: org.id,
              default_visibility: org.defaultVisibility,
              created_at: org.createdAt,
            })
            .execute();
          await trx
            .insertInto("org_members")
            .values({ org_id: org.id, user_id: ownerId, role: "owner", created_at: org.createdAt })
            .execute();
        });
      } catch (error) {
        const e = error as { code?: string; message?: string; errcode?: number };
        if (
          e?.code === "23505" ||
          /UNIQUE constraint failed/i.test(e?.message ?? "") ||
          e?.errcode === 2067
        )
          throw new ClawHubError("ALREADY_EXISTS", `@${org.handle} is already taken`);
        throw error;
      }
      return org;
    },
    async orgByHandle(handle) {
      const row = await orgQuery().where("users.handle", "=", handle).executeTakeFirst();
      return row && toOrg(row);
    },
    async orgById(id) {
      const row = await orgQuery().where("orgs.id", "=", id).executeTakeFirst();
      return row && toOrg(row);
    },
    async listOrgs(userId) {
      let q = orgQuery();
      if (userId)
        q = q.where("orgs.id", "in", (eb) =>
          eb.selectFrom("org_members").select("org_id").where("user_id", "=", userId),
        );
      return (await q.orderBy("users.handle").execute()).map(toOrg);
    },
    async setDefaultVisibility(orgId, visibility) {
      await db
        .updateTable("orgs")
        .set({ default_visibility: visibility })
        .where("id", "=", orgId)
        .execute();
    },
    async setMember(orgId, userId, role, now) {
      await db
        .insertInto("org_members")
        .values({ org_id: orgId, user_id: userId, role, created_at: now })
        .onConflict((oc) => oc.columns(["org_id", "user_id"]).doUpdateSet({ role }))
        .execute();
    },
    async removeMember(orgId, userId) {
      const r = await db
        .deleteFrom("org_members")
        .where("org_id", "=", orgId)
        .where("user_id", "=", userId)
        .executeTakeFirst();
      return Number(r.numDeletedRows) > 0;
    },
    members: (orgId) => memberships("org_members.org_id", "org_members.user_id", orgId),
    membershipsOf: (userId) => memberships("org_members.user_id", "org_members.org_id", userId),
  };
}
