import { generateKeyPairSync } from "node:crypto";
import { mkdir, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEnvelope, publishStatement } from "../src/trust/index.ts";
import { publishBody } from "./helpers/multipart.ts";
import { createSandbox, OUR_BIN, type Sandbox, skillMd } from "./helpers/registry.ts";

let box: Sandbox;
const env = () => ({ CLAWHUB_TOKEN: box.adminToken });
const cli = (...args: string[]) => box.run(OUR_BIN, args, { env: env() });

beforeAll(async () => {
  box = await createSandbox();
});
afterAll(async () => {
  await box.close();
});

async function skillDir(slug: string, note: string) {
  const dir = join(box.root, "src", slug);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "SKILL.md"), skillMd(slug));
  await writeFile(join(dir, "notes.md"), note);
  return dir;
}

describe("signed versions", () => {
  it("signs publishes with a generated key, and installs require it with --trust publisher", async () => {
    const gen = await cli("keys", "generate", "--name", "laptop", "--json");
    expect(gen.code, gen.stderr).toBe(0);
    const { key, file } = JSON.parse(gen.stdout);
    expect(key).toMatchObject({ handle: "admin", name: "laptop", revokedAt: null });
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const list = await cli("keys", "list");
    expect(list.stdout).toContain(`* ${key.keyId}  laptop`);

    const pub = await cli("publish", await skillDir("weather", "v1"), "--version", "1.0.0");
    expect(pub.code, pub.stderr).toBe(0);
    expect(pub.stdout).toContain(`signed with key ${key.keyId.slice(0, 16)}`);

    const strict = await cli(
      "install",
      "weather",
      "--trust",
      "publisher",
      "--json",
      "--workdir",
      join(box.root, "a"),
    );
    expect(strict.code, strict.stderr).toBe(0);
    expect(JSON.parse(strict.stdout).installed[0].attested).toMatchObject({
      signedBy: ["publisher", "registry"],
      publisher: { keyId: key.keyId, handle: "admin" },
    });
    // The logged envelope carries exactly the publisher's signature and the registry's.
    const logInfo = (await (await fetch(`${box.server.url}/api/v1/log`)).json()) as {
      keyId: string;
    };
    const attestation = (await (
      await fetch(`${box.server.url}/api/v1/skills/weather/attestation?version=1.0.0`)
    ).json()) as { envelope: { signatures: { keyid: string }[] } };
    expect(attestation.envelope.signatures.map((sg) => sg.keyid)).toEqual([
      key.keyId,
      logInfo.keyId,
    ]);
    // A monitor watching the owner sees which key signed each version in their name.
    const monitor = await cli("log", "monitor", "--once", "--owner", "admin");
    expect(monitor.stdout).toContain(`@admin/weather@1.0.0 published`);
    expect(monitor.stdout).toContain(`signed with key ${key.keyId.slice(0, 16)}`);
    const proof = await cli("log", "proof", "weather@1.0.0");
    expect(proof.stdout).toContain(
      `signed by  @admin (key ${key.keyId.slice(0, 16)}) and the registry`,
    );

    // Unsigned (--no-sign, or the official CLI): the registry signs alone, which
    // --trust publisher refuses and the default accepts.
    expect((await cli("publish", await skillDir("tides", "v1"), "--no-sign")).code).toBe(0);
    const refused = await cli(
      "install",
      "tides",
      "--trust",
      "publisher",
      "--workdir",
      join(box.root, "b"),
    );
    expect(refused.code).toBe(4);
    expect(refused.stderr).toContain("without a publisher signature");
    expect((await cli("install", "tides", "--workdir", join(box.root, "b"))).code).toBe(0);

    // A revoked key signs nothing new; what it signed before still verifies. Revoking the
    // signing key stops signing (publishes would fail otherwise); naming it is refused.
    const revoked = await cli("keys", "revoke", key.keyId);
    expect(revoked.stdout).toContain("It was your signing key");
    const late = await cli(
      "publish",
      await skillDir("weather", "v2"),
      "--version",
      "1.1.0",
      "--key",
      key.keyId,
    );
    expect(late.code).not.toBe(0);
    expect(late.stderr).toContain("is revoked");
    const unsigned = await cli("publish", await skillDir("weather", "v2"), "--version", "1.1.0");
    expect(unsigned.code, unsigned.stderr).toBe(0);
    expect(unsigned.stdout).not.toContain("signed with key");
    const again = await cli(
      "install",
      "weather@1.0.0",
      "--trust",
      "publisher",
      "--workdir",
      join(box.root, "c"),
    );
    expect(again.code, again.stderr).toBe(0);
  });

  it("refuses signatures by unregistered keys and statements about anything but this publish", async () => {
    const registered = generateKeyPairSync("ed25519");
    const raw = Buffer.from(registered.publicKey.export({ format: "jwk" }).x ?? "", "base64url");
    const added = await fetch(`${box.server.url}/api/v1/keys`, {
      method: "POST",
      headers: { authorization: `Bearer ${box.adminToken}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "ci", publicKey: raw.toString("base64") }),
    });
    expect(added.status).toBe(200);
    const keyId = ((await added.json()) as { key: { keyId: string } }).key.keyId;
    const origin = (
      (await (await fetch(`${box.server.url}/api/v1/log`)).json()) as { origin: string }
    ).origin;
    const attempt = async (
      signer: typeof registered.privateKey,
      statement: Partial<Parameters<typeof publishStatement>[0]>,
    ) => {
      const envelope = createEnvelope(
        publishStatement({
          registry: origin,
          owner: "admin",
          slug: "signed-x",
          version: "1.0.0",
          sha256: "0".repeat(64),
          sha512: "0".repeat(128),
          fingerprint: "0".repeat(64),
          publisherKeyId: keyId,
          publishedAt: new Date().toISOString(),
          ...statement,
        }),
        [signer],
      );
      const { body, type } = publishBody(
        { slug: "signed-x", version: "1.0.0", attestation: envelope },
        [{ path: "SKILL.md", content: skillMd("signed-x") }],
      );
      const res = await fetch(`${box.server.url}/api/v1/skills`, {
        method: "POST",
        headers: { authorization: `Bearer ${box.adminToken}`, "content-type": type },
        body,
      });
      return { status: res.status, text: await res.text() };
    };
    const stranger = generateKeyPairSync("ed25519").privateKey;
    const forged = await attempt(stranger, {});
    expect(forged.status).toBe(400);
    expect(forged.text).toContain("does not verify");
    const wrongDigest = await attempt(registered.privateKey, {});
    expect(wrongDigest.status).toBe(400);
    expect(wrongDigest.text).toContain("the statement's sha256 is not this publish's");
    const unknownKey = await attempt(registered.privateKey, { publisherKeyId: "ab".repeat(32) });
    expect(unknownKey.text).toContain("not registered to you");
    // Nothing refused was published.
    expect((await fetch(`${box.server.url}/api/v1/skills/signed-x`)).status).toBe(404);
  });
});
