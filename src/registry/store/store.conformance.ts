/**
 * The RegistryStore conformance suite: every backend (SQLite, PostgreSQL) must pass it unchanged.
 * Call it from a test file with a factory that opens a fresh, empty, migrated store.
 */
import { randomUUID } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { isClawHubError } from "../../errors/index.ts";
import {
  formatCheckpoint,
  generateNoteKey,
  inclusionProof,
  openCheckpoint,
  parseSignerKey,
  rootOf,
  signNote,
  verifyInclusion,
} from "../../trust/index.ts";
import type { PublishRecord, ReadScope, RegistryStore, User } from "./store.ts";

export function describeStoreConformance(name: string, open: () => Promise<RegistryStore>): void {
  describe(`RegistryStore conformance: ${name}`, () => {
    const opened: RegistryStore[] = [];
    const fresh = async () => {
      const s = await open();
      opened.push(s);
      return s;
    };
    afterEach(async () => {
      for (const s of opened.splice(0)) await s.close();
    });

    const user = (handle: string, role: User["role"] = "user"): User => ({
      id: randomUUID(),
      handle,
      displayName: null,
      role,
      disabled: false,
      createdAt: 1000,
    });
    const record = (
      owner: User,
      slug: string,
      version: string,
      skillId: string = randomUUID(),
      at = 2000,
    ): PublishRecord => ({
      skill: { id: skillId, ownerId: owner.id, slug, displayName: slug, summary: `about ${slug}` },
      version: {
        id: randomUUID(),
        version,
        changelog: "",
        fingerprint: `fp-${slug}-${version}`,
        integrity: "sha512-x",
        zipSha256: "0".repeat(64),
        zipSize: 10,
        fileCount: 2,
        unpackedSize: 20,
        manifest: "{}",
        publisherId: owner.id,
        createdAt: at,
      },
      files: [
        { path: "SKILL.md", sha256: "1".repeat(64), size: 10, contentType: "text/markdown" },
        {
          path: "scripts/run.sh",
          sha256: "2".repeat(64),
          size: 10,
          contentType: "text/x-shellscript",
        },
      ],
      tags: ["latest"],
      now: at,
    });
    const expectCode = async (p: Promise<unknown>, code: string) => {
      const error = await p.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isClawHubError(error) ? error.code : error).toBe(code);
    };

    it("creates users with unique handles", async () => {
      const store = await fresh();
      const alice = await store.createUser(user("alice", "admin"));
      await expectCode(store.createUser(user("alice")), "ALREADY_EXISTS");
      expect(await store.userByHandle("alice")).toEqual(alice);
      expect(await store.userById(alice.id)).toEqual(alice);
      expect(await store.countUsers()).toBe(1);
      await store.setUserDisabled(alice.id, true);
      expect((await store.userByHandle("alice"))?.disabled).toBe(true);
    });

    it("stores tokens by hash, lists, touches and revokes them", async () => {
      const store = await fresh();
      const alice = await store.createUser(user("alice"));
      const info = {
        id: randomUUID(),
        userId: alice.id,
        name: "cli",
        prefix: "clh_abcd",
        createdAt: 5,
        expiresAt: null,
        revokedAt: null,
        lastUsedAt: null,
      };
      await store.createToken({ ...info, tokenHash: "h1" });
      expect(await store.tokenByHash("h1")).toMatchObject({ ...info, user: { handle: "alice" } });
      expect(await store.tokenByHash("nope")).toBeUndefined();
      await store.touchToken(info.id, 99);
      expect((await store.listTokens(alice.id))[0]?.lastUsedAt).toBe(99);
      expect(await store.revokeToken(info.id, 100)).toBe(true);
      expect(await store.revokeToken(info.id, 101)).toBe(false);
      expect((await store.tokenByHash("h1"))?.revokedAt).toBe(100);
    });

    it("publishes a version with its files and tags in one step", async () => {
      const store = await fresh();
      const alice = await store.createUser(user("alice"));
      const rec = record(alice, "pdf-tools", "1.0.0");
      await store.publish(rec);
      const skill = await store.findSkill("pdf-tools");
      expect(skill).toMatchObject({
        slug: "pdf-tools",
        ownerHandle: "alice",
        summary: "about pdf-tools",
        downloads: 0,
      });
      const v = await store.versionOf(rec.skill.id, "1.0.0");
      expect(v).toMatchObject({ version: "1.0.0", fileCount: 2, deletedAt: null });
      expect((await store.filesOf(rec.version.id)).map((f) => f.path)).toEqual([
        "SKILL.md",
        "scripts/run.sh",
      ]);
      expect(await store.tagsOf(rec.skill.id)).toEqual({ latest: "1.0.0" });
      expect((await store.versionByFingerprint(rec.skill.id, "fp-pdf-tools-1.0.0"))?.version).toBe(
        "1.0.0",
      );
    });

    it("stores a version's scan with it, and a rescan replaces it", async () => {
      const store = await fresh();
      const alice = await store.createUser(user("alice"));
      const rec = {
        ...record(alice, "scanned", "1.0.0"),
        scan: {
          verdict: "suspicious" as const,
          score: 6,
          engine: "clawhub-scan/1",
          findings: JSON.stringify([{ rule: "remote-instructions" }]),
          scannedAt: 5,
        },
      };
      await store.publish(rec);
      expect(await store.scanOf(rec.version.id)).toEqual({
        versionId: rec.version.id,
        ...rec.scan,
      });
      await store.putScan({
        ...rec.scan,
        versionId: rec.version.id,
        verdict: "clean",
        score: 0,
        scannedAt: 9,
      });
      expect(await store.scanOf(rec.version.id)).toMatchObject({ verdict: "clean", scannedAt: 9 });
      // A version published without one (before the scanner) has none: not scanned.
      const old = record(alice, "older", "1.0.0");
      await store.publish(old);
      expect(await store.scanOf(old.version.id)).toBeUndefined();
    });

    it("never reuses a version number, even after deletion", async () => {
      const store = await fresh();
      const alice = await store.createUser(user("alice"));
      const first = record(alice, "pdf-tools", "1.0.0");
      await store.publish(first);
      await expectCode(
        store.publish(record(alice, "pdf-tools", "1.0.0", first.skill.id)),
        "ALREADY_EXISTS",
      );
      await store.setVersionDeleted(first.version.id, 3000);
      await expectCode(
        store.publish(record(alice, "pdf-tools", "1.0.0", first.skill.id)),
        "ALREADY_EXISTS",
      );
      expect(await store.listVersions(first.skill.id)).toEqual([]);
      expect(await store.listVersions(first.skill.id, { includeDeleted: true })).toHaveLength(1);
    });

    it("lets exactly one of concurrent publishes of the same version succeed, leaving no partial rows", async () => {
      const store = await fresh();
      const alice = await store.createUser(user("alice"));
      const first = record(alice, "race", "0.1.0");
      await store.publish(first);
      const attempts = Array.from({ length: 8 }, () =>
        record(alice, "race", "1.0.0", first.skill.id),
      );
      const results = await Promise.allSettled(attempts.map((r) => store.publish(r)));
      expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
      for (const r of results)
        if (r.status === "rejected")
          expect(isClawHubError(r.reason) && r.reason.code).toBe("ALREADY_EXISTS");
      const versions = await store.listVersions(first.skill.id);
      expect(versions.map((v) => v.version)).toEqual(["1.0.0", "0.1.0"]);
      const winner = attempts.find((a) => a.version.id === versions[0]?.id);
      expect(winner).toBeDefined();
      for (const loser of attempts.filter((a) => a !== winner))
        expect(await store.filesOf(loser.version.id)).toEqual([]);
    });

    it("appends publishes to one transparency log tree, also when they race", async () => {
      const store = await fresh();
      const alice = await store.createUser(user("alice"));
      const signer = parseSignerKey(generateNoteKey("store.test/log").signer);
      const sign = (size: number, root: Buffer) =>
        signNote(formatCheckpoint({ origin: "store.test/log", size, root }), signer);
      const logged = (r: PublishRecord, n: number): PublishRecord => ({
        ...r,
        log: {
          entry: { statement: Buffer.from(`statement ${n}`), envelope: `{"n":${n}}` },
          sign,
        },
      });
      const first = record(alice, "logged", "0.1.0");
      await store.publish(logged(first, 0));
      // Nine publishes at once (one a duplicate version, refused): eight leaves, one tree.
      const racing = Array.from({ length: 8 }, (_, i) =>
        logged(record(alice, "logged", `1.0.${i}`, first.skill.id), i + 1),
      );
      const duplicate = logged(record(alice, "logged", "1.0.0", first.skill.id), 99);
      const results = await Promise.allSettled([...racing, duplicate].map((r) => store.publish(r)));
      expect(results.filter((r) => r.status === "rejected")).toHaveLength(1);
      expect(await store.log.size()).toBe(9);
      const entries = await store.log.entries(0, 100);
      expect(entries.map((e) => e.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
      const leaves = entries.map((e) => e.leafHash);
      const checkpoint = await store.log.latestCheckpoint();
      expect(checkpoint?.size).toBe(9);
      const opened = openCheckpoint(checkpoint?.note ?? "", signer.verifier);
      expect(opened.root.equals(rootOf(leaves))).toBe(true);
      for (const [i, leaf] of leaves.entries())
        expect(
          verifyInclusion(i, 9, leaf, await inclusionProof(i, 9, store.log.node), opened.root),
        ).toBe(true);
      expect((await store.log.entryOf(first.version.id))?.index).toBe(0);
      // Of the two publishes of 1.0.0, the one that lost the race left no leaf.
      const twins = [racing[0], duplicate].map((r) => r?.version.id ?? "");
      const twinLeaves = await Promise.all(twins.map((id) => store.log.entryOf(id)));
      expect(twinLeaves.filter(Boolean)).toHaveLength(1);
      expect(await store.log.unlogged(10)).toEqual([]);
      // Appends outside a publish (versions of an older database) go on from the same head.
      const unlogged = record(alice, "later", "1.0.0");
      await store.publish(unlogged);
      expect(await store.log.unlogged(10)).toEqual([unlogged.version.id]);
      expect(
        await store.log.append(
          [{ versionId: unlogged.version.id, statement: Buffer.from("x"), envelope: "{}" }],
          sign,
          3000,
        ),
      ).toEqual([9]);
      expect((await store.log.latestCheckpoint())?.size).toBe(10);
      expect(await store.log.claimKey("first")).toBe("first");
      expect(await store.log.claimKey("second")).toBe("first");
    });

    it("orders versions by semver, not by text or time", async () => {
      const store = await fresh();
      const alice = await store.createUser(user("alice"));
      const skillId = randomUUID();
      for (const [i, v] of [
        "1.10.0",
        "1.2.0",
        "1.10.0-beta.2",
        "1.10.0-beta.10",
        "0.9.0",
        "2.0.0-rc.1",
      ].entries()) {
        await store.publish(record(alice, "sem", v, skillId, 2000 + i));
      }
      expect((await store.listVersions(skillId)).map((v) => v.version)).toEqual([
        "2.0.0-rc.1",
        "1.10.0",
        "1.10.0-beta.10",
        "1.10.0-beta.2",
        "1.2.0",
        "0.9.0",
      ]);
      expect(
        (await store.listVersions(skillId, { limit: 2, offset: 1 })).map((v) => v.version),
      ).toEqual(["1.10.0", "1.10.0-beta.10"]);
    });

    it("scopes slugs per owner; a bare slug finds its first publisher", async () => {
      const store = await fresh();
      const alice = await store.createUser(user("alice"));
      const bob = await store.createUser(user("bob"));
      await store.publish(record(alice, "weather", "1.0.0", randomUUID(), 2000));
      await store.publish(record(bob, "weather", "1.0.0", randomUUID(), 3000));
      expect((await store.findSkill("weather"))?.ownerHandle).toBe("alice");
      expect((await store.findSkill("weather", { ownerHandle: "bob" }))?.ownerHandle).toBe("bob");
      expect(await store.findSkill("weather", { ownerHandle: "carol" })).toBeUndefined();
    });

    it("hides deleted skills unless asked, and lists and pages by sort order", async () => {
      const store = await fresh();
      const alice = await store.createUser(user("alice"));
      for (const [i, slug] of ["aaa", "bbb", "ccc", "ddd"].entries())
        await store.publish(record(alice, slug, "1.0.0", randomUUID(), 2000 + i));
      const ccc = await store.findSkill("ccc");
      await store.setSkillDeleted(ccc?.id ?? "", 9000, 9000);
      expect(await store.findSkill("ccc")).toBeUndefined();
      expect((await store.findSkill("ccc", { includeDeleted: true }))?.deletedAt).toBe(9000);
      const page1 = await store.listSkills({
        sort: "createdAt",
        limit: 2,
        offset: 0,
        scope: "all",
      });
      const page2 = await store.listSkills({
        sort: "createdAt",
        limit: 2,
        offset: 2,
        scope: "all",
      });
      expect([...page1, ...page2].map((s) => s.slug)).toEqual(["ddd", "bbb", "aaa"]);
      expect((await store.allSkills()).map((s) => s.slug)).toEqual(["aaa", "bbb", "ddd"]);
      expect(await store.allSkills({ includeDeleted: true })).toHaveLength(4);
      // Changes are visible to other replicas through changed_at, deletions included.
      expect((await store.skillsChangedSince(9000)).map((s) => [s.slug, s.deletedAt])).toEqual([
        ["ccc", 9000],
      ]);
      await store.setSkillDeleted(ccc?.id ?? "", null, 9500);
      expect((await store.skillsChangedSince(9100)).map((s) => [s.slug, s.deletedAt])).toEqual([
        ["ccc", null],
      ]);
    });

    it("counts stars idempotently and downloads once per identity and hour", async () => {
      const store = await fresh();
      const alice = await store.createUser(user("alice"));
      const rec = record(alice, "stats", "1.0.0");
      await store.publish(rec);
      expect(await store.addStar(alice.id, rec.skill.id, 1)).toBe(true);
      expect(await store.addStar(alice.id, rec.skill.id, 2)).toBe(false);
      expect((await store.findSkill("stats"))?.stars).toBe(1);
      expect(await store.removeStar(alice.id, rec.skill.id)).toBe(true);
      expect(await store.removeStar(alice.id, rec.skill.id)).toBe(false);
      expect((await store.findSkill("stats"))?.stars).toBe(0);
      expect(await store.recordDownload(rec.skill.id, "ip:1", 10)).toBe(true);
      expect(await store.recordDownload(rec.skill.id, "ip:1", 10)).toBe(false);
      expect(await store.recordDownload(rec.skill.id, "ip:1", 11)).toBe(true);
      expect(await store.recordDownload(rec.skill.id, "ip:2", 11)).toBe(true);
      // Installs count once per client and bucket, apart from downloads of the same client.
      expect(await store.recordInstall(rec.skill.id, "ip:1", 0)).toBe(true);
      expect(await store.recordInstall(rec.skill.id, "ip:1", 0)).toBe(false);
      expect(await store.findSkill("stats")).toMatchObject({ downloads: 3, installs: 1 });
    });

    it("stores vectors by embedder and content hash, exactly", async () => {
      const store = await fresh();
      const v1 = new Float32Array([0.5, -0.25, 1e-7, 3.4028234663852886e38]);
      const v2 = new Float32Array([1, 2, 3, 4]);
      await store.putVectors(
        "model-a",
        [
          { hash: "h1", vector: v1 },
          { hash: "h2", vector: v2 },
        ],
        1,
      );
      await store.putVectors("model-a", [{ hash: "h1", vector: v2 }], 2); // kept: same text, same vector
      await store.putVectors("model-b", [{ hash: "h1", vector: v2 }], 3);
      const a = await store.getVectors("model-a", ["h1", "h2", "h3"]);
      expect([...a.keys()].sort()).toEqual(["h1", "h2"]);
      expect(Array.from(a.get("h1") ?? [])).toEqual(Array.from(v1));
      expect(Array.from((await store.getVectors("model-b", ["h1"])).get("h1") ?? [])).toEqual(
        Array.from(v2),
      );
      expect((await store.getVectors("model-c", ["h1"])).size).toBe(0);
    });

    it("moves tags and records uploads", async () => {
      const store = await fresh();
      const alice = await store.createUser(user("alice"));
      const one = record(alice, "tagged", "1.0.0");
      await store.publish(one);
      const two = record(alice, "tagged", "2.0.0", one.skill.id);
      await store.publish({ ...two, tags: ["beta"] });
      expect(await store.tagsOf(one.skill.id)).toEqual({ latest: "1.0.0", beta: "2.0.0" });
      await store.setTag(one.skill.id, "latest", two.version.id, 5);
      expect(await store.tagsOf(one.skill.id)).toEqual({ latest: "2.0.0", beta: "2.0.0" });
      await store.createUpload({
        ticket: "t1",
        userId: alice.id,
        path: "SKILL.md",
        sha256: "a".repeat(64),
        size: 3,
        contentType: "text/markdown",
        createdAt: 1,
        completedAt: null,
      });
      await store.completeUpload("t1", 7);
      expect(await store.upload("t1")).toMatchObject({ path: "SKILL.md", size: 3, completedAt: 7 });
      expect(await store.upload("missing")).toBeUndefined();
      await store.createUpload({
        ticket: "t2",
        userId: alice.id,
        path: "notes.md",
        sha256: "b".repeat(64),
        size: 1,
        contentType: "text/markdown",
        createdAt: 50,
        completedAt: null,
      });
      expect((await store.blobReferences()).has("b".repeat(64))).toBe(true);
      expect(await store.deleteUploadsBefore(10)).toBe(1);
      expect(await store.upload("t1")).toBeUndefined();
      expect(await store.upload("t2")).toBeDefined();
      expect((await store.blobReferences()).has("a".repeat(64))).toBe(false);
    });

    it("keeps orgs with members and roles, and lists only what a scope may see", async () => {
      const store = await fresh();
      const alice = await store.createUser(user("alice"));
      const bob = await store.createUser(user("bob"));
      const org = await store.orgs.createOrg(
        {
          id: randomUUID(),
          handle: "acme",
          displayName: "Acme",
          defaultVisibility: "org",
          createdAt: 1500,
        },
        alice.id,
      );
      await expect(
        store.orgs.createOrg({ ...org, id: randomUUID() }, bob.id),
      ).rejects.toMatchObject({ code: "ALREADY_EXISTS" });
      // The org is a namespace: its handle is taken for users too.
      await expect(store.createUser(user("acme"))).rejects.toMatchObject({
        code: "ALREADY_EXISTS",
      });
      expect(await store.orgs.orgByHandle("acme")).toMatchObject({ defaultVisibility: "org" });
      await store.orgs.setMember(org.id, bob.id, "reader", 1600);
      await store.orgs.setMember(org.id, bob.id, "publisher", 1700);
      expect((await store.orgs.members(org.id)).map((m) => [m.handle, m.role])).toEqual([
        ["alice", "owner"],
        ["bob", "publisher"],
      ]);
      expect((await store.orgs.membershipsOf(bob.id)).map((m) => [m.handle, m.role])).toEqual([
        ["acme", "publisher"],
      ]);
      expect((await store.orgs.listOrgs(bob.id)).map((o) => o.handle)).toEqual(["acme"]);
      expect(await store.orgs.removeMember(org.id, bob.id)).toBe(true);
      expect(await store.orgs.removeMember(org.id, bob.id)).toBe(false);
      expect(await store.orgs.listOrgs(bob.id)).toEqual([]);
      await store.orgs.setDefaultVisibility(org.id, "private");
      expect((await store.orgs.orgById(org.id))?.defaultVisibility).toBe("private");

      const orgUser: User = { ...user("acme"), id: org.id };
      const pub = record(alice, "open", "1.0.0");
      const inOrg = record(orgUser, "team", "1.0.0");
      inOrg.skill.visibility = "org";
      const secret = record(orgUser, "secret", "1.0.0");
      secret.skill.visibility = "private";
      for (const r of [pub, inOrg, secret]) await store.publish(r);
      const slugs = async (scope: ReadScope) =>
        (await store.listSkills({ sort: "createdAt", limit: 10, offset: 0, scope }))
          .map((s) => s.slug)
          .sort();
      expect(await slugs({ orgOwners: [], privateOwners: [] })).toEqual(["open"]);
      expect(await slugs({ orgOwners: [org.id], privateOwners: [] })).toEqual(["open", "team"]);
      expect(await slugs({ orgOwners: [org.id], privateOwners: [org.id] })).toEqual([
        "open",
        "secret",
        "team",
      ]);
      expect(await slugs("all")).toEqual(["open", "secret", "team"]);
      // Later publishes keep the visibility unless they give one.
      await store.publish({ ...record(orgUser, "team", "1.1.0", inOrg.skill.id), now: 2100 });
      expect((await store.findSkill("team"))?.visibility).toBe("org");
      await store.setSkillVisibility(inOrg.skill.id, "public", 2200);
      expect((await store.findSkill("team"))?.visibility).toBe("public");
      expect((await store.skillsBySlug("team")).map((s) => s.ownerHandle)).toEqual(["acme"]);
    });
  });
}
