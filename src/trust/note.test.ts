import { describe, expect, it } from "vitest";
import { leafHash } from "./merkle.ts";
import {
  formatCheckpoint,
  generateNoteKey,
  openCheckpoint,
  openNote,
  parseCheckpoint,
  parseSignerKey,
  parseVerifierKey,
  signNote,
} from "./note.ts";

// The example of golang.org/x/mod/sumdb/note: any C2SP signed-note implementation agrees on it.
const SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
const VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const TEXT =
  "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const NOTE = `${TEXT}\n\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n`;

describe("signed notes (C2SP signed-note)", () => {
  it("signs and opens the reference note byte for byte", () => {
    const signer = parseSignerKey(SKEY);
    expect(signer.verifier.text).toBe(VKEY);
    expect(signNote(TEXT, signer)).toBe(NOTE);
    expect(openNote(NOTE, [parseVerifierKey(VKEY)])).toEqual({
      text: TEXT,
      signedBy: ["PeterNeumann"],
    });
  });

  it("refuses an edited text, a foreign key, a bad key hash and malformed notes", () => {
    const verifier = parseVerifierKey(VKEY);
    expect(() => openNote(NOTE.replace("cryptography", "cryptographY"), [verifier])).toThrow(
      /does not verify/,
    );
    const other = parseVerifierKey(generateNoteKey("PeterNeumann").verifier);
    expect(() => openNote(NOTE, [other])).toThrow(/no signature by a known key/);
    expect(() => parseVerifierKey(VKEY.replace("c74f20a3", "c74f20a4"))).toThrow(/hash/);
    expect(() => openNote(TEXT, [verifier])).toThrow(/malformed/);
    expect(() => openNote(`${TEXT}\nnot a signature\n`, [verifier])).toThrow(/malformed/);
    expect(() => openNote(`${"x".repeat(70_000)}\n${NOTE}`, [verifier])).toThrow(/too large/);
  });

  it("ignores unknown cosigners but needs the log's own signature", () => {
    const log = generateNoteKey("registry.example/log");
    const witness = generateNoteKey("witness.example");
    const text = formatCheckpoint({
      origin: "registry.example/log",
      size: 3,
      root: leafHash(Buffer.from("x")),
    });
    const signed = signNote(text, parseSignerKey(log.signer));
    const cosigned = signed + signNote(text, parseSignerKey(witness.signer)).slice(text.length + 1);
    const c = openCheckpoint(cosigned, parseVerifierKey(log.verifier));
    expect(c.size).toBe(3);
    expect(c.root.equals(leafHash(Buffer.from("x")))).toBe(true);
    expect(() => openCheckpoint(cosigned, parseVerifierKey(witness.verifier))).toThrow(
      /checkpoint of log "registry.example\/log"/,
    );
  });

  it("parses checkpoints strictly", () => {
    const root = leafHash(Buffer.from("x")).toString("base64");
    expect(parseCheckpoint(`o.example/log\n7\n${root}\next\n`).extensions).toEqual(["ext"]);
    for (const bad of [
      `o.example/log\n07\n${root}\n`,
      `o.example/log\n-1\n${root}\n`,
      `o.example/log\n1\n${root.slice(4)}\n`,
      `o example\n1\n${root}\n`,
      `o.example/log\n1\n${root}`,
    ])
      expect(() => parseCheckpoint(bad)).toThrow();
  });
});
