import { randomUUID } from "node:crypto";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { digestOf } from "../../lib/audit/record.ts";
import { REDACTED, secretFinding } from "../../lib/audit/redact.ts";
import { type AuditRecord, auditRecordSchema } from "../../lib/audit/schema.ts";
import { parseConfig } from "../../lib/config.ts";
import { WELL_FORMED_REQUEST_ID } from "../../lib/http/request-id.ts";
import { waitForAuditLog } from "../support/audit.ts";
import { adminToken, type RegisteredUser, registerUser } from "../support/auth.ts";
import { type ApiResponse, call } from "../support/http.ts";
import { deposit, expectOk } from "../support/ledger.ts";

/**
 * Issue 11.1: nobody can keep their own actions out of the audit log by sending a
 * secret-looking User-Agent or X-Request-Id. Each poisoned value goes, as either
 * header, through every kind of event (login failure, lockout, payment, role grant,
 * freeze, denial) on the shared local stack; the audit log must then hold exactly one
 * record per event, saying what it redacted and holding none of the poisoned text,
 * and record the gateway's request id, never the caller's.
 */

// The PEM-looking marker is assembled at run time: the repository never holds one.
const POISONED = [
  "Bearer AAAAAAAAAAAAAAAA",
  "eyJx.eyJx.y",
  "curl $2b$10$ x",
  'x "password": 1',
  `${"-----"}BEGIN X${"-----"}`,
];
const VARIANTS = (["User-Agent", "X-Request-Id"] as const).flatMap((header) =>
  POISONED.map((value) => ({ header, value })),
);

/** The lockout threshold of the stack: it runs with this process's environment. */
const THRESHOLD = parseConfig(process.env).MICROPAY_LOCKOUT_THRESHOLD;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let admin: string;
let shop: RegisteredUser;

beforeAll(async () => {
  admin = await adminToken();
  shop = await registerUser();
});

function expectStatus(step: string, res: ApiResponse, status: number) {
  expect(res.status, `${step}: ${res.text.slice(0, 200)}`).toBe(status);
}

describe.each(VARIANTS)("a poisoned $header: $value", ({ header, value }) => {
  it("every kind of event still has exactly one record, redacted, with the gateway's id", async () => {
    const poisoned = { [header]: value };
    const user = await registerUser();
    expectOk("fund", await deposit({ token: admin }, user.account.id, 1_000));

    // The events, each request carrying the poisoned header.
    const payment = await call<{ id: string }>("POST", "/v1/payments", {
      token: user.accessToken,
      headers: { ...poisoned, "Idempotency-Key": randomUUID() },
      body: {
        sourceAccountId: user.account.id,
        destinationAccountId: shop.account.id,
        amount: 100,
        currency: "USD",
      },
    });
    expectStatus("payment", payment, 201);
    const freeze = await call("PATCH", `/v1/admin/accounts/${user.account.id}`, {
      token: admin,
      headers: poisoned,
      body: { status: "frozen" },
    });
    expectStatus("freeze", freeze, 200);
    const grant = await call("PUT", `/v1/admin/users/${user.user.id}/roles`, {
      token: admin,
      headers: poisoned,
      body: { roles: ["customer", "merchant"] },
    });
    expectStatus("role grant", grant, 200);
    const denied = await call("GET", "/v1/admin/users", {
      token: user.accessToken,
      headers: poisoned,
    });
    expectStatus("denial", denied, 403);
    const failures: ApiResponse[] = [];
    for (let i = 0; i < THRESHOLD; i++) {
      failures.push(
        await call("POST", "/v1/auth/login", {
          headers: poisoned,
          body: { email: user.email, password: "a wrong password!!" },
        }),
      );
    }
    for (const f of failures) expectStatus("wrong password", f, 401);

    // The records of those events, found by what they touched.
    const kinds: Record<string, (r: AuditRecord) => boolean> = {
      payment: (r) => r.action === "payment.created" && r.targets.paymentId === payment.json.id,
      freeze: (r) => r.action === "account.frozen" && r.targets.accountId === user.account.id,
      "role grant": (r) => r.action === "user.roles_changed" && r.targets.userId === user.user.id,
      denial: (r) =>
        r.action === "auth.access_denied" &&
        r.reason === "role_not_allowed" &&
        r.actor.userId === user.user.id,
      "login failure": (r) => r.action === "auth.login_failed" && r.targets.userId === user.user.id,
      lockout: (r) => r.action === "auth.account_locked" && r.targets.userId === user.user.id,
    };
    const expected: Record<string, number> = {
      payment: 1,
      freeze: 1,
      "role grant": 1,
      denial: 1,
      "login failure": THRESHOLD,
      lockout: 1,
    };
    const found = (records: AuditRecord[]) =>
      Object.fromEntries(
        Object.entries(kinds).map(([k, match]) => [k, records.filter(match)] as const),
      );
    const records = await waitForAuditLog(inject("stack").auditLog, (rs) => {
      const f = found(rs);
      return Object.entries(expected).every(([k, n]) => (f[k]?.length ?? 0) >= n);
    });
    const byKind = found(records);
    const counts = Object.fromEntries(Object.entries(byKind).map(([k, rs]) => [k, rs.length]));
    expect(counts).toEqual(expected);

    // Single-request events: the record's request id is the one the gateway gave that
    // request (the response echoes it unless a well-formed caller id was echoed).
    const echoed = header === "X-Request-Id" && WELL_FORMED_REQUEST_ID.test(value);
    const responses: Record<string, ApiResponse> = {
      payment,
      freeze,
      "role grant": grant,
      denial: denied,
    };
    for (const [kind, res] of Object.entries(responses)) {
      const id = res.headers.get("x-request-id");
      const record = byKind[kind]?.[0];
      if (echoed) {
        expect(id, kind).toBe(value);
        expect(record?.actor.requestId, kind).not.toBe(value);
      } else {
        expect(record?.actor.requestId, kind).toBe(id);
      }
    }

    const all = Object.values(byKind).flat();
    expect(all).toHaveLength(THRESHOLD + 5);
    for (const r of all) {
      const where = `${r.action} ${r.eventId}`;
      expect(auditRecordSchema.safeParse(r).success, where).toBe(true);
      expect(digestOf(r), where).toBe(r.digest);
      expect(JSON.stringify(r), where).not.toContain(value);
      expect(secretFinding(r), where).toBeUndefined();
      expect(r.actor.requestId, where).toMatch(UUID);
      if (header === "User-Agent") {
        expect(r.redacted, where).toEqual(["actor.userAgent"]);
        expect(r.actor.userAgent, where).toContain(REDACTED);
      } else if (echoed) {
        expect(r.redacted, where).toEqual(["actor.clientRequestId"]);
        expect(r.actor.clientRequestId, where).toBe(REDACTED);
      } else {
        // A malformed caller id is never kept: there is nothing of it to redact.
        expect(r.actor, where).not.toHaveProperty("clientRequestId");
        expect(r, where).not.toHaveProperty("redacted");
      }
    }
  });
});
