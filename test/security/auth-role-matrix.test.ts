import { beforeAll, describe, expect, it } from "vitest";
import { routes } from "../../lib/routes/index.ts";
import { ROLES, type Role, type RouteDef, SCOPES, type Scope } from "../../lib/routes/types.ts";
import { registerUser, tokenWithRoles } from "../support/auth.ts";
import { call } from "../support/http.ts";

/**
 * The role matrix, generated from the route table (lib/routes/index.ts), so every
 * route added later is covered without editing this file: for every bearer route and
 * every role, a caller holding only that role gets 403 exactly when the route's
 * declared roles exclude it; an anonymous caller gets 401. Requests use the route's
 * example body and made-up ids: the role check runs before validation and lookups,
 * so only "403 or not" is asserted, never the success status.
 *
 * API keys (issue 15) from the same table: a key holding every scope acts as its
 * owner (a customer's key, a merchant's key) and gets 403 exactly where the owner's
 * role would, and on every route without a `scope` (auth, API-key, admin routes); a
 * key holding every scope but the route's gets 403 insufficient_scope.
 */
const DUMMY_PREFIX: Record<string, string> = {
  account: "acc",
  payment: "pay",
  refund: "ref",
  user: "usr",
  entry: "ent",
  key: "key",
};

function concretePath(route: RouteDef): string {
  const path = route.path.replace(/\{([A-Za-z0-9_]+)\}/g, (_m, name: string) => {
    const prefix = DUMMY_PREFIX[name.replace(/Id$/, "")] ?? "usr";
    return `${prefix}_01ARZ3NDEKTSV4RRFFQ69G5FAV`;
  });
  const query = new URLSearchParams(route.example?.query ?? {}).toString();
  return query ? `${path}?${query}` : path;
}

function request(route: RouteDef, token?: string) {
  const carriesBody = route.method !== "GET" && route.method !== "DELETE";
  return call(route.method, concretePath(route), {
    ...(token ? { token } : {}),
    ...(carriesBody ? { body: route.example?.body ?? {} } : {}),
    headers: route.idempotent ? { "Idempotency-Key": `matrix-${crypto.randomUUID()}` } : {},
  });
}

const tokens = new Map<Role, string>();
/** Keys holding every scope, by their owner's only role. */
const allScopeKeys = new Map<"customer" | "merchant", string>();
/** Keys of a merchant and of a customer holding every scope but one, by that scope. */
const allButKeys = new Map<string, string>();

async function createKey(token: string, scopes: readonly Scope[]): Promise<string> {
  const res = await call<{ key: string }>("POST", "/v1/api-keys", {
    token,
    body: { name: "matrix", scopes },
  });
  if (res.status !== 201) throw new Error(`create key: ${res.status} ${res.text}`);
  return res.json.key;
}

beforeAll(async () => {
  const [customer, merchant, admin, auditor] = await Promise.all([
    registerUser(),
    tokenWithRoles(["merchant"]),
    tokenWithRoles(["admin"]),
    tokenWithRoles(["auditor"]),
  ]);
  tokens.set("customer", customer.accessToken);
  tokens.set("merchant", merchant.accessToken);
  tokens.set("admin", admin.accessToken);
  tokens.set("auditor", auditor.accessToken);
  // One key created and revoked, so revocation's own writes run wherever this matrix runs
  // (the artifacts tier proves each function's grants by use).
  const spare = await call<{ id: string }>("POST", "/v1/api-keys", {
    token: customer.accessToken,
    body: { name: "revoked", scopes: ["accounts:read"] },
  });
  const revoked = await call("DELETE", `/v1/api-keys/${spare.json.id}`, {
    token: customer.accessToken,
  });
  if (revoked.status !== 204) throw new Error(`revoke key: ${revoked.status} ${revoked.text}`);
  allScopeKeys.set("customer", await createKey(customer.accessToken, SCOPES));
  allScopeKeys.set("merchant", await createKey(merchant.accessToken, SCOPES));
  for (const owner of ["customer", "merchant"] as const) {
    for (const scope of SCOPES) {
      const token = owner === "customer" ? customer.accessToken : merchant.accessToken;
      allButKeys.set(
        `${owner} ${scope}`,
        await createKey(
          token,
          SCOPES.filter((s) => s !== scope),
        ),
      );
    }
  }
}, 120_000);

const bearerRoutes = routes.filter((r) => r.auth !== "none");
const publicRoutes = routes.filter((r) => r.auth === "none");

describe("the route table is covered", () => {
  it("has bearer routes, and some role is forbidden somewhere (the matrix is not vacuous)", () => {
    expect(bearerRoutes.length).toBeGreaterThan(0);
    const forbiddenPairs = bearerRoutes.flatMap((r) =>
      ROLES.filter((role) => r.auth !== "none" && !r.auth.roles.includes(role)),
    );
    expect(forbiddenPairs.length).toBeGreaterThan(0);
  });
});

describe.each(bearerRoutes.map((r) => [`${r.method} ${r.path}`, r] as const))(
  "%s",
  (_name, route) => {
    const allowed = route.auth === "none" ? [] : route.auth.roles;

    it("answers 401 without a token", async () => {
      const res = await request(route);
      expect(res.status).toBe(401);
    });

    for (const role of ROLES) {
      const may = allowed.includes(role);
      it(`${role}: ${may ? "allowed (never 401/403)" : "forbidden (403)"}`, async () => {
        const res = await request(route, tokens.get(role));
        if (may) {
          expect(res.status, res.text).not.toBe(403);
          expect(res.status, res.text).not.toBe(401);
          expect(res.status, res.text).toBeLessThan(500);
        } else {
          expect(res.status, res.text).toBe(403);
          expect(res.json).toMatchObject({ code: "forbidden" });
        }
      });
    }
  },
);

describe.each(bearerRoutes.map((r) => [`${r.method} ${r.path}`, r] as const))(
  "API key: %s",
  (_name, route) => {
    const allowed = route.auth === "none" ? [] : route.auth.roles;
    const scope = route.scope;

    for (const owner of ["customer", "merchant"] as const) {
      const may = scope !== undefined && allowed.includes(owner);
      it(`${owner}'s key with every scope: ${may ? "allowed (never 401/403)" : "forbidden (403)"}`, async () => {
        const res = await request(route, allScopeKeys.get(owner));
        if (may) {
          expect(res.status, res.text).not.toBe(403);
          expect(res.status, res.text).not.toBe(401);
          expect(res.status, res.text).toBeLessThan(500);
        } else {
          expect(res.status, res.text).toBe(403);
          expect(res.json).toMatchObject({ code: "forbidden" });
        }
      });
    }

    if (scope !== undefined) {
      const owner = allowed.includes("merchant") ? "merchant" : "customer";
      it(`${owner}'s key without ${scope}: 403 insufficient_scope`, async () => {
        const res = await request(route, allButKeys.get(`${owner} ${scope}`));
        expect(res.status, res.text).toBe(403);
        expect(res.json).toMatchObject({ code: "insufficient_scope" });
      });
    }
  },
);

describe.each(publicRoutes.map((r) => [`${r.method} ${r.path}`, r] as const))(
  "public %s",
  (_name, route) => {
    it("never answers 403, with or without a token", async () => {
      expect((await request(route)).status).not.toBe(403);
      expect((await request(route, tokens.get("customer"))).status).not.toBe(403);
    });
  },
);
