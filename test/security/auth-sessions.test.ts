import { createHash } from "node:crypto";
import { decodeJwt } from "jose";
import { afterAll, describe, expect, inject, it } from "vitest";
import { refreshKey } from "../../lib/store/keys.ts";
import {
  adminToken,
  loginAs,
  loginWithCode,
  registerUser,
  setRoles,
  stackTable,
  tokenWithRoles,
} from "../support/auth.ts";
import { call } from "../support/http.ts";

/**
 * Sessions: refresh-token rotation and reuse detection, parallel refresh, logout,
 * role changes taking effect, and the admin user routes.
 */
const table = stackTable(inject("stack"));
afterAll(() => table.destroy());

const refresh = (refreshToken: string) =>
  call<{ accessToken: string; refreshToken: string; tokenType: string; expiresIn: number }>(
    "POST",
    "/v1/auth/refresh",
    { body: { refreshToken } },
  );

describe("refresh tokens", () => {
  it("rotate on every use and are stored only as a SHA-256 hash", async () => {
    const u = await registerUser();
    const r1 = await refresh(u.refreshToken);
    expect(r1.status).toBe(200);
    expect(r1.json).toMatchObject({ tokenType: "Bearer", expiresIn: 900 });
    expect(r1.json.refreshToken).not.toBe(u.refreshToken);
    expect((await call("GET", "/v1/me", { token: r1.json.accessToken })).status).toBe(200);
    const hash = createHash("sha256").update(r1.json.refreshToken).digest("hex");
    const item = await table.get(refreshKey(hash));
    expect(item).toMatchObject({ status: "active", userId: u.user.id });
    expect(JSON.stringify(item)).not.toContain(r1.json.refreshToken);
  });

  it("reuse of a rotated token is 401 and revokes the whole family", async () => {
    const u = await registerUser();
    const r1 = await refresh(u.refreshToken);
    expect(r1.status).toBe(200);
    const reuse = await refresh(u.refreshToken);
    expect(reuse.status).toBe(401);
    expect(reuse.json).toMatchObject({ code: "invalid_refresh_token" });
    // The newest token of the family is dead too.
    expect((await refresh(r1.json.refreshToken)).status).toBe(401);
    // Other sessions of the same user are untouched.
    const other = await loginAs(u.email, u.password);
    expect((await refresh(other.refreshToken)).status).toBe(200);
    const events = await table.auditEvents(
      (e) =>
        e.action === "auth.refresh_token_reused" &&
        (e as unknown as { targets: { userId?: string } }).targets.userId === u.user.id,
    );
    expect(events).toHaveLength(1);
  });

  it("two parallel uses of one token: exactly one succeeds", async () => {
    for (let round = 0; round < 3; round++) {
      const u = await registerUser();
      const results = await Promise.all([refresh(u.refreshToken), refresh(u.refreshToken)]);
      expect(results.map((r) => r.status).sort()).toEqual([200, 401]);
    }
  });

  it("ten parallel uses of one token: exactly one succeeds", async () => {
    const u = await registerUser();
    const results = await Promise.all(Array.from({ length: 10 }, () => refresh(u.refreshToken)));
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    expect(results.filter((r) => r.status === 401)).toHaveLength(9);
  });

  it("another text of the same token bytes is no token: refused, and the session is untouched", async () => {
    const u = await registerUser();
    // Base64url's spare low bit in the last character: a decoder reads the same bytes.
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const last = u.refreshToken.at(-1) as string;
    const twin = `${u.refreshToken.slice(0, -1)}${alphabet[alphabet.indexOf(last) ^ 1]}`;
    expect(Buffer.from(twin.slice(3), "base64url")).toEqual(
      Buffer.from(u.refreshToken.slice(3), "base64url"),
    );
    const res = await refresh(twin);
    expect(res.status).toBe(401);
    expect(res.json).toMatchObject({ code: "invalid_refresh_token" });
    // Neither a second authority nor a reuse: logging it out does nothing either.
    const out = await call("POST", "/v1/auth/logout", {
      token: u.accessToken,
      body: { refreshToken: twin },
    });
    expect(out.status).toBe(204);
    expect((await refresh(u.refreshToken)).status).toBe(200);
  });

  it("garbage, unknown and oversized refresh tokens are 401 or 400, never 500", async () => {
    expect((await refresh("rt_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")).status).toBe(401);
    expect((await refresh("not a token")).status).toBe(401);
    expect((await refresh("x".repeat(300))).status).toBe(400);
    const extra = await call("POST", "/v1/auth/refresh", {
      body: { refreshToken: "rt_x", userId: "usr_x" },
    });
    expect(extra.status).toBe(400);
  });
});

describe("logout", () => {
  it("revokes its family (204), leaving other sessions alone", async () => {
    const u = await registerUser();
    const second = await loginAs(u.email, u.password);
    const res = await call("POST", "/v1/auth/logout", {
      token: u.accessToken,
      body: { refreshToken: u.refreshToken },
    });
    expect(res.status).toBe(204);
    expect(res.text).toBe("");
    expect((await refresh(u.refreshToken)).status).toBe(401);
    expect((await refresh(second.refreshToken)).status).toBe(200);
    // Again: still 204 (idempotent).
    const again = await call("POST", "/v1/auth/logout", {
      token: u.accessToken,
      body: { refreshToken: u.refreshToken },
    });
    expect(again.status).toBe(204);
  });

  it("needs a bearer token, and cannot revoke another user's session", async () => {
    const a = await registerUser();
    const b = await registerUser();
    const anonymous = await call("POST", "/v1/auth/logout", {
      body: { refreshToken: a.refreshToken },
    });
    expect(anonymous.status).toBe(401);
    const foreign = await call("POST", "/v1/auth/logout", {
      token: b.accessToken,
      body: { refreshToken: a.refreshToken },
    });
    expect(foreign.status).toBe(204);
    expect((await refresh(a.refreshToken)).status).toBe(200);
  });
});

describe("role changes", () => {
  it("take effect at the next token: old sessions are revoked, a new login carries the roles", async () => {
    const u = await registerUser();
    expect(decodeJwt(u.accessToken).roles).toEqual(["customer"]);
    const changed = await setRoles(u.user.id, ["merchant", "customer"]);
    expect(changed.status).toBe(200);
    expect(changed.json).toMatchObject({ id: u.user.id, roles: ["customer", "merchant"] });
    // The profile shows the new roles at once.
    const me = await call<{ roles: string[] }>("GET", "/v1/me", { token: u.accessToken });
    expect(me.json.roles).toEqual(["customer", "merchant"]);
    // No refresh token issued before the change can mint a token with stale roles.
    expect((await refresh(u.refreshToken)).status).toBe(401);
    const fresh = await loginAs(u.email, u.password);
    expect(decodeJwt(fresh.accessToken).roles).toEqual(["customer", "merchant"]);
    const next = await refresh(fresh.refreshToken);
    expect(decodeJwt(next.json.accessToken).roles).toEqual(["customer", "merchant"]);
    const events = await table.auditEvents(
      (e) =>
        (e.action === "user.roles_changed" || e.action === "auth.tokens_revoked") &&
        (e as unknown as { targets: { userId?: string } }).targets.userId === u.user.id,
    );
    expect(events.map((e) => e.action).sort()).toEqual([
      "auth.tokens_revoked",
      "user.roles_changed",
    ]);
  });

  it("a demoted admin loses admin routes at its next token", async () => {
    const a = await tokenWithRoles(["admin"]);
    expect((await call("GET", "/v1/admin/users", { token: a.accessToken })).status).toBe(200);
    expect((await setRoles(a.user.id, ["customer"])).status).toBe(200);
    expect((await refresh(a.refreshToken)).status).toBe(401);
    const fresh = await loginWithCode(a.email, a.password, a.recoveryCodes?.[0] ?? "");
    expect((await call("GET", "/v1/admin/users", { token: fresh.accessToken })).status).toBe(403);
  });

  it("validates the request: unknown role, empty or repeated list, bad or unknown user id", async () => {
    const u = await registerUser();
    const token = await adminToken();
    const put = (id: string, body: unknown) =>
      call("PUT", `/v1/admin/users/${id}/roles`, { token, body });
    expect((await put(u.user.id, { roles: ["root"] })).status).toBe(400);
    expect((await put(u.user.id, { roles: [] })).status).toBe(400);
    expect((await put(u.user.id, { roles: ["admin", "admin"] })).status).toBe(400);
    expect((await put(u.user.id, { roles: ["admin"], note: "x" })).status).toBe(400);
    expect((await put("not-an-id", { roles: ["admin"] })).status).toBe(400);
    const missing = await put("usr_01ARZ3NDEKTSV4RRFFQ69G5FAV", { roles: ["admin"] });
    expect(missing.status).toBe(404);
    // A customer may not change roles, not even its own; the denial is audited.
    const requestId = `denied-${u.user.id}`;
    const self = await call("PUT", `/v1/admin/users/${u.user.id}/roles`, {
      token: u.accessToken,
      body: { roles: ["admin"] },
      headers: { "X-Request-Id": requestId },
    });
    expect(self.status).toBe(403);
    const denials = await table.auditEvents((e) => e.actor.clientRequestId === requestId);
    expect(denials).toHaveLength(1);
    expect(denials[0]).toMatchObject({
      action: "auth.access_denied",
      reason: "role_not_allowed",
      actor: { userId: u.user.id, roles: ["customer"] },
      targets: { routeId: "admin-users-roles" },
    });
  });
});

describe("GET /v1/admin/users", () => {
  type Page = {
    data: Record<string, unknown>[];
    hasMore: boolean;
    nextCursor: string | null;
  };

  it("pages newest first with opaque cursors, never showing hashes or lockout data", async () => {
    await Promise.all(Array.from({ length: 9 }, () => registerUser()));
    const token = await adminToken();
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const path: string = `/v1/admin/users?limit=2${cursor ? `&cursor=${cursor}` : ""}`;
      const res = await call<Page>("GET", path, { token });
      expect(res.status).toBe(200);
      expect(res.json.data.length).toBeLessThanOrEqual(2);
      for (const u of res.json.data) {
        expect(Object.keys(u).sort()).toEqual(["createdAt", "email", "id", "roles", "updatedAt"]);
        seen.push(u.id as string);
      }
      expect(res.text).not.toMatch(/\$2[aby]\$|passwordHash|failedCount|lockedUntil/);
      cursor = res.json.nextCursor;
      expect(res.json.hasMore).toBe(cursor !== null);
      pages++;
    } while (cursor && pages < 5);
    expect(pages).toBe(5);
    expect(new Set(seen).size).toBe(seen.length);
    expect([...seen].sort().reverse()).toEqual(seen); // ULIDs: newest first
  });

  it("refuses a forged, edited or foreign cursor with 400", async () => {
    const token = await adminToken();
    const first = await call<Page>("GET", "/v1/admin/users?limit=1", { token });
    const cursor = first.json.nextCursor;
    expect(cursor).toBeTruthy();
    const [payload, mac] = String(cursor).split(".");
    const edited = `${Buffer.from(JSON.stringify({ after: "usr_01ARZ3NDEKTSV4RRFFQ69G5FAV" })).toString("base64url")}.${mac}`;
    for (const bad of [edited, `${payload}.AAAA`, "garbage", `${cursor}x`]) {
      const res = await call("GET", `/v1/admin/users?cursor=${encodeURIComponent(bad)}`, { token });
      expect(res.status).toBe(400);
    }
    // Another admin's cursor is not valid for this caller.
    const other = await tokenWithRoles(["admin"]);
    const res = await call("GET", `/v1/admin/users?cursor=${cursor}`, {
      token: other.accessToken,
    });
    expect(res.status).toBe(400);
  });

  it("is open to admin and auditor, 403 for customer and merchant, 400 on a bad limit", async () => {
    const [auditor, merchant, customer] = await Promise.all([
      tokenWithRoles(["auditor"]),
      tokenWithRoles(["merchant"]),
      registerUser(),
    ]);
    const get = (token: string, q = "") => call("GET", `/v1/admin/users${q}`, { token });
    expect((await get(auditor.accessToken)).status).toBe(200);
    expect((await get(merchant.accessToken)).status).toBe(403);
    expect((await get(customer.accessToken)).status).toBe(403);
    expect((await get(auditor.accessToken, "?limit=0")).status).toBe(400);
    expect((await get(auditor.accessToken, "?limit=101")).status).toBe(400);
    expect((await get(auditor.accessToken, "?ownerId=x")).status).toBe(400);
    // An auditor reads but never writes.
    const write = await call("PUT", `/v1/admin/users/${customer.user.id}/roles`, {
      token: auditor.accessToken,
      body: { roles: ["admin"] },
    });
    expect(write.status).toBe(403);
  });
});
