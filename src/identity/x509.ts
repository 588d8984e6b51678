/**
 * @peculiar/x509 behind one import: it resolves its ASN.1 converters through tsyringe, which
 * needs the Reflect metadata API installed first (its documented setup). Nothing else in
 * ClawHub uses decorators or reflection.
 */
import "reflect-metadata";

export * as x509 from "@peculiar/x509";
