/**
 * The wire types in proto.ts are written by hand (no generated code): this test reads hub.proto
 * and the TypeScript sources and fails when a message and its interface drift apart in field
 * names, field kinds, or oneof members.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import protobuf from "protobufjs";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const root = (rel: string) => fileURLToPath(new URL(rel, import.meta.url));
const protoRoot = protobuf.loadSync(root("../../proto/clawhub/hub/v1/hub.proto"));
protoRoot.resolveAll();
const pkg = protoRoot.lookup("clawhub.hub.v1") as protobuf.Namespace;

interface ProtoField {
  name: string;
  type: string;
  repeated: boolean;
  map: boolean;
  message: boolean;
  enumValues: string[] | undefined;
}
interface ProtoMessage {
  field: ProtoField[];
  oneof: boolean;
}
const messages = new Map<string, ProtoMessage>();
for (const nested of pkg.nestedArray) {
  if (!(nested instanceof protobuf.Type)) continue;
  messages.set(nested.name, {
    oneof: nested.oneofsArray.length > 0,
    field: nested.fieldsArray.map((f) => {
      f.resolve();
      return {
        name: f.name,
        type: f.type,
        repeated: f.repeated,
        map: f.map,
        message: f.resolvedType instanceof protobuf.Type,
        enumValues:
          f.resolvedType instanceof protobuf.Enum
            ? Object.keys(f.resolvedType.values).filter((v) => !v.endsWith("_UNSPECIFIED"))
            : undefined,
      };
    }),
  });
}

/** Each TypeScript type's properties with their type text, read from the sources. */
function readTypes(): Map<string, Map<string, string>> {
  const out = new Map<string, Map<string, string>>();
  for (const file of ["./proto.ts", "./payload.ts", "./tensor.ts"]) {
    const path = root(file);
    const source = ts.createSourceFile(
      path,
      readFileSync(path, "utf8"),
      ts.ScriptTarget.Latest,
      true,
    );
    for (const statement of source.statements) {
      if (ts.isInterfaceDeclaration(statement)) {
        const props = new Map<string, string>();
        for (const m of statement.members)
          if (ts.isPropertySignature(m) && m.type)
            props.set(m.name.getText(source), m.type.getText(source));
        out.set(statement.name.text, props);
      }
      // Oneof unions: { kind: "x"; x: T } | ...
      if (ts.isTypeAliasDeclaration(statement) && ts.isUnionTypeNode(statement.type)) {
        const props = new Map<string, string>();
        for (const member of statement.type.types) {
          if (!ts.isTypeLiteralNode(member)) continue;
          let kind = "";
          let body = "";
          for (const m of member.members) {
            if (!ts.isPropertySignature(m) || !m.type) continue;
            const key = m.name.getText(source);
            if (key === "kind") kind = m.type.getText(source).replace(/"/g, "");
            else body = m.type.getText(source);
          }
          if (kind) props.set(kind, body);
        }
        out.set(statement.name.text, props);
      }
    }
  }
  return out;
}
const types = readTypes();

/** The TypeScript type a proto message is mirrored by. */
const OWN_NAME = new Set(["AgentMessage", "HubMessage", "CallerFrame", "CallerReply"]);
const tsName = (message: string) => (OWN_NAME.has(message) ? message : `Wire${message}`);

/**
 * Messages with no interface of their own: empty requests, batches (typed inline in their
 * oneof member), and small requests the SDK builds inline. Each is listed, so a new message
 * without an interface fails until someone decides.
 */
const INLINE = new Set([
  "Drain",
  "AgentBatch",
  "HubBatch",
  "CallerBatch",
  "CallerReplyBatch",
  "StreamCancel",
  "DiscoverRequest",
  "DiscoverResponse",
  "ListAgentsRequest",
  "ListAgentsResponse",
  "EventsRequest",
  "WhoAmIRequest",
  "ListIdentitiesRequest",
]);

/** What a TypeScript property type must look like for a proto field. */
function expectedKind(field: ProtoField): RegExp {
  if (field.map) return /^Record<string, string>$/;
  let base: string;
  if (field.enumValues) base = field.enumValues.map((v) => `"${v}"`).join(" \\| ");
  else if (field.message)
    base = OWN_NAME.has(field.type)
      ? field.type
      : `(?:Wire${field.type}|\\{[^}]*\\}|Record<string, never>)`;
  else if (field.type === "string") base = "string";
  else if (field.type === "bool") base = "boolean";
  else if (field.type === "bytes") base = "Uint8Array";
  else base = "number";
  if (field.repeated) return new RegExp(`^(?:${base}\\[\\]|Array<${base}>)$`);
  if (field.message) return new RegExp(`^${base}(?: \\| null)?$`);
  return new RegExp(`^${base}$`);
}

describe("wire types match hub.proto", () => {
  it("has a TypeScript type for every message (or lists it as inline)", () => {
    const missing = [...messages.keys()].filter((m) => !INLINE.has(m) && !types.has(tsName(m)));
    expect(missing).toEqual([]);
  });

  it.each([...messages.keys()].filter((m) => !INLINE.has(m)))(
    "%s: same fields, same kinds",
    (name) => {
      const message = messages.get(name) as ProtoMessage;
      const props = types.get(tsName(name)) as Map<string, string>;
      const oneof = message.oneof;
      const fieldNames = message.field.map((f) => f.name).sort();
      // A oneof union has a `kind` per member instead of optional fields.
      expect([...props.keys()].sort(), `${tsName(name)} vs ${name}`).toEqual(fieldNames);
      for (const field of message.field) {
        const text = (props.get(field.name) as string).replace(/\s+/g, " ");
        if (oneof) continue; // members carry their own types, checked as messages
        expect(text, `${name}.${field.name}`).toMatch(expectedKind(field));
      }
    },
  );
});
