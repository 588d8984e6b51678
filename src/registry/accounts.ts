/**
 * Accounts: users, API tokens (stored only as hashes) and authentication. Never locks the
 * registry out: the first admin appears only once the server listens, and neither the last
 * active admin nor an admin's own last token can be removed.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { ClawHubError } from "../errors/index.ts";
import { checkDisplayName, checkName, HANDLE } from "../schema/index.ts";
import { sha256Hex } from "../skill/index.ts";
import type { Principal } from "./access.ts";
import type { RegistryStore, TokenInfo, User } from "./store/index.ts";

/** The account operations of the registry service. */
export function createAccounts(options: {
  store: RegistryStore;
  now: () => number;
  random?: (bytes: number) => Buffer;
}) {
  const { store, now } = options;
  const random = options.random ?? randomBytes;
  const checkHandle = (handle: string) => checkName(HANDLE, handle);
  function newToken(): { token: string; hash: string; prefix: string } {
    const token = `clh_${random(24).toString("base64url")}`;
    return { token, hash: sha256Hex(token), prefix: token.slice(0, 8) };
  }

  const api = {
    /** On an empty database, creates the `admin` user and returns its first token (shown once). */
    async bootstrapAdmin(handle = "admin"): Promise<{ user: User; token: string } | undefined> {
      if ((await store.countUsers()) > 0) return undefined;
      try {
        const user = await store.createUser({
          id: randomUUID(),
          handle,
          displayName: "Administrator",
          role: "admin",
          disabled: false,
          createdAt: now(),
        });
        const { token } = await api.createToken(user.handle, { name: "bootstrap" });
        return { user, token };
      } catch (error) {
        // Another replica bootstrapped first.
        if (error instanceof ClawHubError && error.code === "ALREADY_EXISTS") return undefined;
        throw error;
      }
    },

    async createUser(
      handle: string,
      role: User["role"] = "user",
      displayName?: string,
    ): Promise<User> {
      checkHandle(handle);
      return store.createUser({
        id: randomUUID(),
        handle,
        displayName: displayName === undefined ? null : checkDisplayName(displayName),
        role,
        disabled: false,
        createdAt: now(),
      });
    },

    listUsers: () => store.listUsers(),

    /** Disables or enables a user; never the last active admin (nobody could administer). */
    async setUserDisabled(handle: string, disabled: boolean): Promise<User> {
      const user = await store.userByHandle(handle);
      if (!user || (await store.orgs.orgById(user.id)))
        throw new ClawHubError("NOT_FOUND", `User @${handle} not found`);
      if (disabled && user.role === "admin" && !user.disabled) {
        const others = (await store.listUsers()).filter(
          (u) => u.role === "admin" && !u.disabled && u.id !== user.id,
        );
        if (others.length === 0)
          throw new ClawHubError("CONFLICT", `@${handle} is the last active admin`, {
            hint: "Create another admin first (clawhub admin user create <handle> --role admin).",
          });
      }
      await store.setUserDisabled(user.id, disabled);
      return { ...user, disabled };
    },

    /** Creates an API token for a user; the secret is returned once and stored only hashed. */
    async createToken(
      handle: string,
      opts: { name?: string; expiresInDays?: number } = {},
    ): Promise<{ token: string; info: TokenInfo }> {
      const user = await store.userByHandle(handle);
      if (!user) throw new ClawHubError("NOT_FOUND", `User @${handle} not found`);
      if (await store.orgs.orgById(user.id))
        throw new ClawHubError("INVALID_ARGUMENT", `@${handle} is an org: orgs have no tokens`, {
          hint: "Members publish to it with their own tokens.",
        });
      const { token, hash, prefix } = newToken();
      const info: TokenInfo = {
        id: randomUUID(),
        userId: user.id,
        name: opts.name ?? "cli",
        prefix,
        createdAt: now(),
        expiresAt: opts.expiresInDays ? now() + opts.expiresInDays * 86_400_000 : null,
        revokedAt: null,
        lastUsedAt: null,
      };
      await store.createToken({ ...info, tokenHash: hash });
      return { token, info };
    },

    async listTokens(handle?: string): Promise<Array<TokenInfo & { handle: string }>> {
      const users = new Map((await store.listUsers()).map((u) => [u.id, u.handle]));
      let userId: string | undefined;
      if (handle) {
        userId = (await store.userByHandle(handle))?.id;
        if (!userId) throw new ClawHubError("NOT_FOUND", `User @${handle} not found`);
      }
      return (await store.listTokens(userId)).map((t) => ({
        ...t,
        handle: users.get(t.userId) ?? "?",
      }));
    },

    /**
     * Revokes a token. An admin may not revoke their own last usable token: that admin would
     * be locked out of the registry with nobody to issue a new one.
     */
    async revokeToken(id: string, caller?: Principal): Promise<void> {
      if (caller && caller.user.role === "admin") {
        const mine = (await store.listTokens(caller.user.id)).filter(
          (t) => t.revokedAt === null && (t.expiresAt === null || t.expiresAt > now()),
        );
        if (mine.length === 1 && mine[0]?.id === id)
          throw new ClawHubError("CONFLICT", "this is your last admin token", {
            hint: "Create another token first (clawhub admin token create <your handle>).",
          });
      }
      if (!(await store.revokeToken(id, now())))
        throw new ClawHubError("NOT_FOUND", `Token ${id} not found or already revoked`);
    },

    /** Resolves a Bearer token; every refusal names its reason (401 on the API). */
    async authenticate(authorization: string | undefined): Promise<Principal | undefined> {
      if (!authorization) return undefined;
      const match = /^Bearer\s+(\S+)$/i.exec(authorization.trim());
      if (!match?.[1])
        throw new ClawHubError(
          "UNAUTHENTICATED",
          "Unauthorized: malformed Authorization header (expected Bearer clh_...)",
        );
      const found = await store.tokenByHash(sha256Hex(match[1]));
      if (!found) throw new ClawHubError("UNAUTHENTICATED", "Unauthorized: invalid token");
      if (found.revokedAt !== null)
        throw new ClawHubError("UNAUTHENTICATED", "Unauthorized: token revoked");
      if (found.expiresAt !== null && found.expiresAt <= now())
        throw new ClawHubError("UNAUTHENTICATED", "Unauthorized: token expired");
      if (found.user.disabled)
        throw new ClawHubError("UNAUTHENTICATED", "Unauthorized: account disabled");
      const memberships = await store.orgs.membershipsOf(found.user.id);
      // Touching on every request would make reads write; once a minute is enough for "last used".
      if (found.lastUsedAt === null || now() - found.lastUsedAt > 60_000)
        await store.touchToken(found.id, now());
      return { user: found.user, tokenId: found.id, memberships };
    },
  };
  return api;
}
