import { join } from "node:path";
import { decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, inject, it, vi } from "vitest";
import { handler } from "../../functions/auth-login.ts";
import { issueAccessToken } from "../../lib/auth/access-token.ts";
import { resetSigningKeysForTests } from "../../lib/auth/keys.ts";
import { verifyPassword } from "../../lib/auth/passwords.ts";
import { resetConfigForTests } from "../../lib/config.ts";
import { userKey } from "../../lib/store/keys.ts";
import { registerUser, setRoles, stackTable } from "../support/auth.ts";
import { apiEvent, lambdaContext } from "../support/events.ts";
import { call } from "../support/http.ts";

/**
 * A login racing a role change (issue 11, item 5). The login handler runs in this
 * process against the shared stack's DynamoDB Local, so the race can be placed
 * exactly: the admin's role change (through the stack's API, as another container
 * would) commits while this login is inside its bcrypt compare, or right after it
 * signed its access token.
 */
vi.mock("../../lib/auth/passwords.ts", async (importOriginal) => {
  const real = await importOriginal<typeof import("../../lib/auth/passwords.ts")>();
  return { ...real, verifyPassword: vi.fn(real.verifyPassword) };
});
vi.mock("../../lib/auth/access-token.ts", async (importOriginal) => {
  const real = await importOriginal<typeof import("../../lib/auth/access-token.ts")>();
  return { ...real, issueAccessToken: vi.fn(real.issueAccessToken) };
});

const stack = inject("stack");
const table = stackTable(stack);
const saved = { ...process.env };

beforeAll(() => {
  Object.assign(process.env, {
    MICROPAY_DYNAMODB_ENDPOINT: stack.dynamodbEndpoint,
    MICROPAY_TABLE_NAME: stack.tableName,
    MICROPAY_SIGNING_KEY_FILE: join(stack.dataDir, "keys", "signing-key.jwk.json"),
    MICROPAY_BCRYPT_COST: "10",
  });
  resetConfigForTests();
  resetSigningKeysForTests();
});

afterAll(() => {
  process.env = saved;
  resetConfigForTests();
  resetSigningKeysForTests();
  table.destroy();
});

/** POST /v1/auth/login through the real handler, in this process. */
async function loginHere(email: string, password: string) {
  const res = await handler(
    apiEvent({
      method: "POST",
      path: "/v1/auth/login",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email, password }),
    }),
    lambdaContext(),
  );
  return { status: res.statusCode, json: JSON.parse(res.body) as Record<string, unknown> };
}

async function changeRoles(userId: string, roles: ("customer" | "admin")[]) {
  const res = await setRoles(userId, roles);
  if (res.status !== 200) throw new Error(`role change failed: ${res.status} ${res.text}`);
}

describe("a login racing a role change", () => {
  it("a demotion that commits during the password check: the token carries the new roles", async () => {
    // Not enrolled in MFA: the password step itself starts the session here.
    const u = await registerUser();
    await changeRoles(u.user.id, ["customer", "admin"]);
    const realVerify = (
      await vi.importActual<typeof import("../../lib/auth/passwords.ts")>(
        "../../lib/auth/passwords.ts",
      )
    ).verifyPassword;
    vi.mocked(verifyPassword).mockImplementationOnce(async (password, hash) => {
      const ok = await realVerify(password, hash);
      await changeRoles(u.user.id, ["customer"]); // committed before this login's session starts
      return ok;
    });

    const res = await loginHere(u.email, u.password);
    expect(res.status).toBe(200);
    expect(decodeJwt(String(res.json.accessToken)).roles).toEqual(["customer"]);
    // The session was started under the new roles, so it lives on (a stale one would be dead).
    const refreshed = await call<{ accessToken: string }>("POST", "/v1/auth/refresh", {
      body: { refreshToken: res.json.refreshToken },
    });
    expect(refreshed.status).toBe(200);
    expect(decodeJwt(refreshed.json.accessToken).roles).toEqual(["customer"]);
    // And the old roles are refused at the admin routes with the new token.
    const admin = await call("GET", "/v1/admin/users", { token: String(res.json.accessToken) });
    expect(admin.status).toBe(403);
  });

  it("roles that change again during the retry: 503, no tokens, nothing counted against the account", async () => {
    // Not enrolled in MFA: the password step itself starts the session here.
    const u = await registerUser();
    await changeRoles(u.user.id, ["customer", "admin"]);
    const actual = await vi.importActual<typeof import("../../lib/auth/passwords.ts")>(
      "../../lib/auth/passwords.ts",
    );
    const realIssue = (
      await vi.importActual<typeof import("../../lib/auth/access-token.ts")>(
        "../../lib/auth/access-token.ts",
      )
    ).issueAccessToken;
    vi.mocked(verifyPassword).mockImplementationOnce(async (password, hash) => {
      const ok = await actual.verifyPassword(password, hash);
      await changeRoles(u.user.id, ["customer"]);
      return ok;
    });
    vi.mocked(issueAccessToken)
      .mockImplementationOnce(realIssue)
      .mockImplementationOnce(async (userId, roles) => {
        const issued = await realIssue(userId, roles);
        await changeRoles(u.user.id, ["customer", "admin"]); // moves again before the retry commits
        return issued;
      });

    vi.mocked(issueAccessToken).mockClear();
    const res = await loginHere(u.email, u.password);
    expect(res.status).toBe(503);
    expect(res.json).toMatchObject({ code: "service_unavailable" });
    expect(res.json).not.toHaveProperty("accessToken");
    expect(vi.mocked(issueAccessToken)).toHaveBeenCalledTimes(2);
    const item = await table.get(userKey(u.user.id));
    expect(item).toMatchObject({ failedCount: 0, pendingCount: 0 });
    // The next login, with nothing racing it, works and carries the current roles.
    const again = await loginHere(u.email, u.password);
    expect(again.status).toBe(200);
    expect(decodeJwt(String(again.json.accessToken)).roles).toEqual(["customer", "admin"]);
  });
});
