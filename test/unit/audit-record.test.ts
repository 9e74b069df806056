import { describe, expect, it } from "vitest";
import { canonicalJson, sha256Hex } from "../../lib/audit/canonical.ts";
import { actorOf, newAuditEvent } from "../../lib/audit/events.ts";
import {
  AuditRecordError,
  buildRecord,
  digestOf,
  mapStreamRecord,
  recordFromEvent,
} from "../../lib/audit/record.ts";
import {
  assertNoSecrets,
  REDACTED,
  redactText,
  redactValues,
  SecretInRecordError,
  secretFinding,
} from "../../lib/audit/redact.ts";
import { auditRecordSchema } from "../../lib/audit/schema.ts";
import { insertOf, outboxItem, sampleEvent, streamRecord } from "../support/audit.ts";

describe("canonical JSON and the digest", () => {
  it("sorts keys at every depth, drops undefined members, keeps array order, no whitespace", () => {
    expect(canonicalJson({ b: 1, a: { d: [3, 1], c: "x" }, u: undefined, n: null })).toBe(
      '{"a":{"c":"x","d":[3,1]},"b":1,"n":null}',
    );
  });

  it("refuses values with no single canonical form", () => {
    expect(() => canonicalJson({ a: 1.5 })).toThrow(TypeError);
    expect(() => canonicalJson({ a: new Date() })).toThrow(TypeError);
    expect(() => canonicalJson({ a: 10n })).toThrow(TypeError);
  });

  it("is the SHA-256 hex of the canonical bytes, independent of key order", () => {
    expect(sha256Hex({ a: 1 })).toBe(
      "015abd7f5cc57a2dd94b7590f04ad8084273905ee33ec5cebeae62276a97f862",
    );
    expect(sha256Hex({ a: 1, b: "é" })).toBe(sha256Hex({ b: "é", a: 1 }));
  });

  it("covers every field of a record but the digest", () => {
    const r = recordFromEvent(sampleEvent());
    expect(digestOf(r)).toBe(r.digest);
    const { digest: _d, ...content } = r;
    expect(r.digest).toBe(sha256Hex(content));
    const money = { amount: (r.money?.amount ?? 0) + 1, currency: "USD" };
    expect(digestOf({ ...r, money })).not.toBe(r.digest);
    expect(digestOf({ ...r, actor: { ...r.actor, sourceIp: "198.51.100.1" } })).not.toBe(r.digest);
  });
});

describe("stream record -> audit record", () => {
  it("turns the INSERT of an audit item into one PCI DSS 10.2.2 record", () => {
    const event = sampleEvent();
    const out = mapStreamRecord(insertOf(event));
    expect(out.kind).toBe("record");
    if (out.kind !== "record") return;
    const r = out.record;
    expect(r).toMatchObject({
      v: 2,
      eventId: event.eventId,
      action: "payment.created",
      outcome: "success",
      at: "2025-03-01T12:00:00.000Z",
      actor: {
        type: "user",
        userId: event.actor.userId,
        roles: ["customer"],
        sourceIp: "203.0.113.7",
        userAgent: "curl/8.5.0",
        requestId: "req-0001",
      },
      targets: event.targets,
      money: event.money,
    });
    expect(r.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(r).not.toHaveProperty("redacted");
    expect(r.actor).not.toHaveProperty("clientRequestId");
    expect(auditRecordSchema.safeParse(r).success).toBe(true);
  });

  it("marks anonymous and admin actors and normalizes the time to UTC milliseconds", () => {
    const anon = recordFromEvent(
      sampleEvent({
        action: "auth.login_failed",
        outcome: "failure",
        reason: "invalid_credentials",
        at: "2025-03-01T13:00:00+01:00",
        actor: { userId: null, roles: [], sourceIp: "198.51.100.9", userAgent: "", requestId: "r" },
        targets: {},
        money: undefined,
      }),
    );
    expect(anon.actor.type).toBe("anonymous");
    expect(anon.at).toBe("2025-03-01T12:00:00.000Z");
    expect(anon).not.toHaveProperty("money");
    const admin = recordFromEvent(
      sampleEvent({
        action: "account.frozen",
        actor: {
          userId: "usr_01JN0000000000000000000000",
          roles: ["customer", "admin"],
          sourceIp: "10.0.0.1",
          userAgent: "ua",
          requestId: "r2",
        },
        money: undefined,
      }),
    );
    expect(admin.actor.type).toBe("admin");
    expect(admin.actor.roles).toEqual(["admin", "customer"]);
  });

  it("ignores TTL deletions, other removes, updates and items that are not audit events", () => {
    const item = outboxItem(sampleEvent());
    const ttl = streamRecord("REMOVE", item, {
      userIdentity: { type: "Service", principalId: "dynamodb.amazonaws.com" },
    });
    expect(mapStreamRecord(ttl)).toEqual({ kind: "ignored", why: "ttl-delete" });
    expect(mapStreamRecord(streamRecord("REMOVE", item))).toEqual({
      kind: "ignored",
      why: "remove",
    });
    expect(mapStreamRecord(streamRecord("MODIFY", item))).toEqual({
      kind: "ignored",
      why: "modify",
    });
    const account = { pk: "ACC#acc_1", sk: "ACCOUNT", type: "account", balance: 5 };
    expect(mapStreamRecord(streamRecord("INSERT", account))).toEqual({
      kind: "ignored",
      why: "not-audit",
    });
    const marker = { pk: "AUDITLOG#evt_1", sk: "AUDITLOG", type: "audit_log_marker" };
    expect(mapStreamRecord(streamRecord("INSERT", marker)).kind).toBe("ignored");
  });

  it("still refuses an event that is not a well-formed audit event (poison), naming the field, not its value", () => {
    const bad = { ...sampleEvent(), outcome: "maybe" };
    expect(() => mapStreamRecord(insertOf(bad))).toThrow(AuditRecordError);
    expect(() => mapStreamRecord(insertOf(bad))).toThrow(/outcome/);
    expect(() => mapStreamRecord(insertOf({ ...sampleEvent(), body: { a: 1 } }))).toThrow(
      AuditRecordError,
    );
    expect(() =>
      mapStreamRecord(insertOf({ ...sampleEvent(), money: { amount: -1, currency: "USD" } })),
    ).toThrow(/money\.amount/);
    expect(() => mapStreamRecord(insertOf("not an object"))).toThrow(AuditRecordError);
  });
});

describe("the record schema", () => {
  const good = () => recordFromEvent(sampleEvent());

  it("rejects unknown members, a wrong digest shape, a non-UTC time, an inconsistent actor", () => {
    expect(auditRecordSchema.safeParse({ ...good(), extra: 1 }).success).toBe(false);
    expect(auditRecordSchema.safeParse({ ...good(), digest: "abc" }).success).toBe(false);
    expect(
      auditRecordSchema.safeParse({ ...good(), at: "2025-03-01T12:00:00+01:00" }).success,
    ).toBe(false);
    const g = good();
    expect(
      auditRecordSchema.safeParse({ ...g, actor: { ...g.actor, type: "anonymous" } }).success,
    ).toBe(false);
    expect(
      auditRecordSchema.safeParse({ ...g, money: { amount: 1.5, currency: "USD" } }).success,
    ).toBe(false);
  });
});

describe("the redaction guard", () => {
  const jwt =
    "eyJhbGciOiJFUzI1NiIsInR5cCI6ImF0K2p3dCJ9.eyJzdWIiOiJ1c3JfMSJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ";
  const cases: [string, unknown][] = [
    ["a JWT", { reason: `token ${jwt}` }],
    ["a bearer token", { actor: { userAgent: "Bearer abcdefghijklmnop" } }],
    ["a bcrypt hash", { targets: { x: "$2b$12$abcdefghijklmnopqrstuu" } }],
    // Assembled at run time so the repository never holds a private-key marker.
    ["a PEM block", { reason: `-----BEGIN ${"PRIVATE"} KEY-----\nMIIE` }],
    ["a JWK d member", { targets: { k: '{"kty":"EC","d":"aGVsbG8td29ybGQtc2VjcmV0LWtleQ"}' } }],
    ["a password key", { password: "hunter2hunter2" }],
    ["a nested password key", { targets: { newPassword: "x" } }],
    ["a refreshToken key", { refreshToken: "abc" }],
    ["a passwordHash key", { passwordHash: "x" }],
  ];
  for (const [name, value] of cases) {
    it(`refuses ${name}`, () => {
      expect(secretFinding(value)).toBeDefined();
      expect(() => assertNoSecrets(value, "r")).toThrow(/refused/);
    });
  }

  it("never echoes the secret it found", () => {
    const check = () => assertNoSecrets({ reason: jwt }, "record x");
    expect(check).toThrow(SecretInRecordError);
    // The whole message, so nothing of the token can be in it.
    expect(check).toThrow(/^record x refused: it looks like it holds a JWT$/);
  });

  it("passes an ordinary record, reasons that merely mention a password included", () => {
    const r = recordFromEvent(
      sampleEvent({ action: "auth.login_failed", outcome: "failure", reason: "wrong password" }),
    );
    expect(secretFinding(r)).toBeUndefined();
  });

  it("writes a server-built field that trips the guard in redacted form, flagged", () => {
    const e = sampleEvent({ reason: `presented ${jwt}` });
    const out = mapStreamRecord(insertOf(e));
    expect(out.kind).toBe("record");
    if (out.kind !== "record") return;
    expect(out.guardRedacted).toEqual(["reason"]);
    expect(out.record.eventId).toBe(e.eventId);
    expect(out.record.reason).toBe(`presented ${REDACTED}`);
    expect(out.record.redacted).toEqual(["reason"]);
    expect(JSON.stringify(out.record)).not.toContain(jwt.slice(0, 20));
    expect(secretFinding(out.record)).toBeUndefined();
    expect(auditRecordSchema.safeParse(out.record).success).toBe(true);
    expect(digestOf(out.record)).toBe(out.record.digest);

    const hashed = buildRecord(
      sampleEvent({ targets: { userId: "$2a$10$0123456789012345678901" } }),
    );
    expect(hashed.guardRedacted).toEqual(["targets.userId"]);
    expect(JSON.stringify(hashed.record)).not.toContain("$2a$");
  });

  it("leaves out a member named like a secret and says so", () => {
    const e = sampleEvent({ targets: { accountId: "acc_1", passwordHash: "x" } });
    const { record, guardRedacted } = buildRecord(e);
    expect(guardRedacted).toEqual(["targets.passwordHash"]);
    expect(record.targets).toEqual({ accountId: "acc_1" });
    expect(record.redacted).toEqual(["targets.passwordHash"]);
    expect(secretFinding(record)).toBeUndefined();
  });

  it("keeps a record that is clean exactly as built, with nothing flagged", () => {
    const { record, guardRedacted } = buildRecord(sampleEvent());
    expect(guardRedacted).toEqual([]);
    expect(record).not.toHaveProperty("redacted");
  });
});

// Each value a caller once used to keep a record out of the log. The PEM-looking one is
// assembled at run time so the repository never holds a private-key marker.
const POISONED = [
  "Bearer AAAAAAAAAAAAAAAA",
  "eyJx.eyJx.y",
  "curl $2b$10$ x",
  'x "password": 1',
  `${"-----"}BEGIN X${"-----"}`,
];

describe("caller-supplied text", () => {
  for (const value of POISONED) {
    it(`redacts ${JSON.stringify(value)} inside the field and the result passes the guard`, () => {
      const out = redactText(value, 256);
      expect(out.redacted).toBe(true);
      expect(out.text).toContain(REDACTED);
      expect(out.text).not.toContain(value);
      expect(secretFinding({ actor: { userAgent: out.text } })).toBeUndefined();
    });
  }

  it("keeps the harmless parts around a redacted one", () => {
    expect(redactText("Mozilla/5.0 Bearer abcdefghijklmnop (X11)", 256)).toEqual({
      text: `Mozilla/5.0 ${REDACTED} (X11)`,
      redacted: true,
    });
    expect(redactText("curl/8.5.0", 256)).toEqual({ text: "curl/8.5.0", redacted: false });
  });

  it("bounds the text, without calling that redaction, and never splits a surrogate pair", () => {
    expect(redactText("a".repeat(1000), 256)).toEqual({ text: "a".repeat(256), redacted: false });
    expect(redactText(`${"a".repeat(255)}😀`, 256).text).toBe("a".repeat(255));
    // A secret past the bound is still redacted, and the marker is cut to the bound.
    const long = redactText(`${"a".repeat(250)} Bearer abcdefghijklmnop`, 256);
    expect(long.redacted).toBe(true);
    expect(long.text).toHaveLength(256);
    expect(secretFinding(long.text)).toBeUndefined();
  });

  it("redacts the whole value when only its serialized form looks like a secret", () => {
    // Raw text has no opening quote; serialized, the value's own quote completes the match.
    const out = redactText('password": 1', 256);
    expect(out).toEqual({ text: REDACTED, redacted: true });
  });

  it("newAuditEvent redacts the actor's caller text, keeps the record, and lists the fields", () => {
    const actor = actorOf({
      principal: null,
      sourceIp: "203.0.113.7",
      userAgent: `curl $2b$10$ x ${"z".repeat(400)}`,
      requestId: "eyJx.eyJx.y",
      gatewayRequestId: "6f1c2a9e-1d0b-4c55-9b7e-2f3a4b5c6d7e",
      clientRequestId: "eyJx.eyJx.y",
    });
    expect(actor.requestId).toBe("6f1c2a9e-1d0b-4c55-9b7e-2f3a4b5c6d7e");
    const e = newAuditEvent(actor, "auth.login_failed", { outcome: "failure", targets: {} });
    expect(e.redacted).toEqual(["actor.clientRequestId", "actor.userAgent"]);
    expect(e.actor.userAgent.length).toBeLessThanOrEqual(256);
    expect(e.actor.userAgent.startsWith(`curl ${REDACTED} x`)).toBe(true);
    expect(e.actor.clientRequestId).toBe(REDACTED);
    const r = recordFromEvent(e);
    expect(r.redacted).toEqual(["actor.clientRequestId", "actor.userAgent"]);
    expect(r.actor.requestId).toBe("6f1c2a9e-1d0b-4c55-9b7e-2f3a4b5c6d7e");
    expect(secretFinding(r)).toBeUndefined();
  });

  it("the consumer redacts caller text another writer stored raw, even over-long", () => {
    for (const value of POISONED) {
      const base = sampleEvent();
      const raw = { ...base, actor: { ...base.actor, userAgent: `${value}${"q".repeat(600)}` } };
      const { record, guardRedacted } = buildRecord(raw);
      expect(guardRedacted).toEqual([]);
      expect(record.redacted).toEqual(["actor.userAgent"]);
      expect(record.actor.userAgent.length).toBeLessThanOrEqual(256);
      expect(JSON.stringify(record)).not.toContain(value);
      expect(secretFinding(record)).toBeUndefined();
    }
  });

  it("redactValues redacts strings in place and drops secret-named members, naming each", () => {
    const { value, paths } = redactValues({
      a: "fine",
      b: { c: "Bearer abcdefghijklmnop", refreshToken: "x" },
      list: ["ok", "Bearer abcdefghijklmnop xyz", "$2b$10$"],
    });
    // Never longer than the original (or the marker): a redacted value still fits its schema.
    expect(value).toEqual({
      a: "fine",
      b: { c: REDACTED },
      list: ["ok", `${REDACTED} xyz`, REDACTED],
    });
    expect(paths.sort()).toEqual(["b.c", "b.refreshToken", "list.1", "list.2"]);
  });
});
