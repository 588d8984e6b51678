/**
 * The wire types in proto.ts are written by hand (no generated code): this test reads hub.proto
 * and the TypeScript sources and fails when a message and its interface drift apart in field
 * names, field kinds, or oneof members.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import * as protoLoader from "@grpc/proto-loader";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const root = (rel: string) => fileURLToPath(new URL(rel, import.meta.url));
const definition = protoLoader.loadSync(root("../../proto/clawhub/hub/v1/hub.proto"), {
  keepCase: false,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
});

interface ProtoField {
  name: string;
  type: string;
  label: string;
  typeName: string;
  oneofIndex?: number;
  proto3Optional?: boolean;
}
interface ProtoMessage {
  field: ProtoField[];
  oneofDecl: Array<{ name: string }>;
  nestedType: Array<{ name: string; options?: { mapEntry?: boolean } }>;
}
const messages = new Map<string, ProtoMessage>();
const enums = new Map<string, string[]>();
for (const [name, value] of Object.entries(definition)) {
  const v = value as { format?: string; type?: ProtoMessage & { value?: Array<{ name: string }> } };
  const short = name.replace("clawhub.hub.v1.", "");
  if (v.format === "Protocol Buffer 3 DescriptorProto" && v.type) messages.set(short, v.type);
  if (v.format === "Protocol Buffer 3 EnumDescriptorProto" && v.type?.value)
    enums.set(
      short,
      v.type.value.map((e) => e.name),
    );
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
]);

/** What a TypeScript property type must look like for a proto field. */
function expectedKind(field: ProtoField, message: ProtoMessage): RegExp {
  const entry = message.nestedType.find(
    (n) => field.typeName.endsWith(n.name) && n.options?.mapEntry,
  );
  if (entry) return /^Record<string, string>$/;
  const repeated = field.label === "LABEL_REPEATED";
  let base: string;
  switch (field.type) {
    case "TYPE_STRING":
      base = "string";
      break;
    case "TYPE_BOOL":
      base = "boolean";
      break;
    case "TYPE_BYTES":
      base = "Uint8Array";
      break;
    case "TYPE_ENUM": {
      // A union of the enum's value names, without the proto3 zero value.
      const values = (enums.get(field.typeName.split(".").pop() as string) ?? []).filter(
        (v) => !v.endsWith("_UNSPECIFIED"),
      );
      base = values.map((v) => `"${v}"`).join(" \\| ");
      break;
    }
    case "TYPE_MESSAGE": {
      const name = field.typeName.split(".").pop() as string;
      base = OWN_NAME.has(name) ? name : `(?:Wire${name}|\\{[^}]*\\}|Record<string, never>)`;
      break;
    }
    default:
      base = "number";
  }
  if (repeated) return new RegExp(`^(?:${base}\\[\\]|Array<${base}>)$`);
  if (field.type === "TYPE_MESSAGE") return new RegExp(`^${base}(?: \\| null)?$`);
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
      const oneof = message.oneofDecl.length > 0;
      const fieldNames = message.field.map((f) => f.name).sort();
      // A oneof union has a `kind` per member instead of optional fields.
      expect([...props.keys()].sort(), `${tsName(name)} vs ${name}`).toEqual(fieldNames);
      for (const field of message.field) {
        const text = (props.get(field.name) as string).replace(/\s+/g, " ");
        if (oneof) continue; // members carry their own types, checked as messages
        expect(text, `${name}.${field.name}`).toMatch(expectedKind(field, message));
      }
    },
  );
});
