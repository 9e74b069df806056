import { describe, expect, it } from "vitest";
import { buildRecord } from "../../lib/audit/record.ts";
import {
  type ApiKeyListed,
  type ApiKeyLookup,
  type ApiKeyStore,
  authenticateApiKey,
  checkApiKeyFormat,
  clearTouchedKeysForTests,
  createApiKey,
  generateApiKey,
  hashApiKey,
  hasScope,
  revokeApiKey,
} from "../../lib/auth/api-keys.ts";
import type { CallContext } from "../../lib/context.ts";
import { Refusal } from "../../lib/problems.ts";
import type { Principal, Role } from "../../lib/routes/types.ts";

/** A store double that counts every call, so "no table read" is observable. */
function fakeStore(init: { lookup?: ApiKeyLookup; roles?: Role[] } = {}) {
  const calls: string[] = [];
  const created: { hash: string; action: string; apiKeyId?: string }[] = [];
  const store: ApiKeyStore = {
    async create(record, hash, event) {
      calls.push("create");
      created.push({ hash, action: event.action, apiKeyId: record.id });
    },
    async listByOwner() {
      calls.push("listByOwner");
      return [] as ApiKeyListed[];
    },
    async revoke() {
      calls.push("revoke");
      return false;
    },
    async findByHash() {
      calls.push("findByHash");
      return init.lookup;
    },
    async ownerRoles() {
      calls.push("ownerRoles");
      return init.roles;
    },
    async touch() {
      calls.push("touch");
    },
  };
  return { store, calls, created };
}

const ctx = (principal: Principal): CallContext => ({
  principal,
  gatewayRequestId: "gw-1",
  requestId: "gw-1",
  sourceIp: "127.0.0.1",
  userAgent: "test",
});
const USER = "usr_01ARZ3NDEKTSV4RRFFQ69G5FAV";
const KEY = "key_01ARZ3NDEKTSV4RRFFQ69G5FAV";

describe("API key format and checksum", () => {
  it("generates mp_live_ keys of one length whose checksum verifies, all different", () => {
    const keys = Array.from({ length: 200 }, () => generateApiKey());
    for (const key of keys) {
      expect(key).toMatch(/^mp_live_[0-9A-Za-z]{38}$/);
      expect(checkApiKeyFormat(key)).toBe("ok");
    }
    expect(new Set(keys).size).toBe(keys.length);
  });

  it("refuses every single-character typo and a swap of two neighbours by the checksum", () => {
    const key = generateApiKey();
    for (let i = "mp_live_".length; i < key.length; i++) {
      const c = key[i] === "a" ? "b" : "a";
      const typo = key.slice(0, i) + c + key.slice(i + 1);
      expect(checkApiKeyFormat(typo), `typo at ${i}`).toBe("bad_checksum");
    }
    const i = 10;
    if (key[i] !== key[i + 1]) {
      const swapped = key.slice(0, i) + key[i + 1] + key[i] + key.slice(i + 2);
      expect(checkApiKeyFormat(swapped)).toBe("bad_checksum");
    }
  });

  it("refuses truncated, padded and wrongly prefixed keys as malformed", () => {
    const key = generateApiKey();
    expect(checkApiKeyFormat(key.slice(0, -1))).toBe("malformed");
    expect(checkApiKeyFormat(`${key}x`)).toBe("malformed");
    expect(checkApiKeyFormat(key.replace("mp_live_", "mp_test_"))).toBe("malformed");
    expect(checkApiKeyFormat(`${key.slice(0, -2)}-_`)).toBe("malformed");
  });

  it("stores a SHA-256 hex of the key, never the key", () => {
    const key = generateApiKey();
    expect(hashApiKey(key)).toMatch(/^[0-9a-f]{64}$/);
    expect(hashApiKey(key)).not.toContain(key.slice(8));
  });
});

describe("authenticateApiKey", () => {
  it("refuses a mistyped key without any store call", async () => {
    const { store, calls } = fakeStore();
    const key = generateApiKey();
    const typo = `${key.slice(0, 20)}${key[20] === "Z" ? "Y" : "Z"}${key.slice(21)}`;
    const out = await authenticateApiKey(typo, { store, lastUsedIntervalSeconds: 60 });
    expect(out).toMatchObject({ ok: false, reason: "api_key_bad_checksum" });
    expect(calls).toEqual([]);
  });

  it("refuses an unknown key after one lookup, and an expired one", async () => {
    const unknown = fakeStore();
    expect(
      await authenticateApiKey(generateApiKey(), {
        store: unknown.store,
        lastUsedIntervalSeconds: 60,
      }),
    ).toMatchObject({ ok: false, reason: "api_key_unknown" });
    expect(unknown.calls).toEqual(["findByHash"]);

    const expired = fakeStore({
      lookup: {
        id: KEY,
        ownerId: USER,
        scopes: ["payments:read"],
        expiresAt: "2026-01-01T00:00:00.000Z",
      },
      roles: ["merchant"],
    });
    const out = await authenticateApiKey(generateApiKey(), {
      store: expired.store,
      lastUsedIntervalSeconds: 60,
      now: () => new Date("2026-01-01T00:00:00.000Z"),
    });
    expect(out).toMatchObject({ ok: false, reason: "api_key_expired", keyId: KEY });
  });

  it("acts as the owner with its current roles minus admin and auditor, and the key's scopes", async () => {
    clearTouchedKeysForTests();
    const { store, calls } = fakeStore({
      lookup: { id: KEY, ownerId: USER, scopes: ["payments:write"], expiresAt: null },
      roles: ["merchant", "admin"],
    });
    const deps = { store, lastUsedIntervalSeconds: 60, now: () => new Date(1_000_000) };
    const out = await authenticateApiKey(generateApiKey(), deps);
    expect(out).toEqual({
      ok: true,
      principal: {
        userId: USER,
        roles: ["merchant"],
        tokenId: KEY,
        apiKeyId: KEY,
        scopes: ["payments:write"],
      },
    });
    // lastUsedAt: one write, then none until the interval has passed.
    await authenticateApiKey(generateApiKey(), deps);
    await authenticateApiKey(generateApiKey(), { ...deps, now: () => new Date(1_059_000) });
    expect(calls.filter((c) => c === "touch")).toHaveLength(1);
    await authenticateApiKey(generateApiKey(), { ...deps, now: () => new Date(1_061_000) });
    expect(calls.filter((c) => c === "touch")).toHaveLength(2);
  });

  it("refuses a key whose owner is gone", async () => {
    const { store } = fakeStore({
      lookup: { id: KEY, ownerId: USER, scopes: ["payments:write"], expiresAt: null },
    });
    const out = await authenticateApiKey(generateApiKey(), { store, lastUsedIntervalSeconds: 60 });
    expect(out).toMatchObject({ ok: false, reason: "api_key_owner_gone" });
  });
});

describe("scopes", () => {
  const keyPrincipal: Principal = {
    userId: USER,
    roles: ["merchant"],
    tokenId: KEY,
    apiKeyId: KEY,
    scopes: ["payments:write"],
  };
  it("a key holds only its scopes; a token principal is not limited by scopes", () => {
    expect(hasScope(keyPrincipal, "payments:write")).toBe(true);
    expect(hasScope(keyPrincipal, "accounts:read")).toBe(false);
    expect(hasScope({ userId: USER, roles: ["customer"], tokenId: "jti" }, "accounts:read")).toBe(
      true,
    );
  });
});

describe("createApiKey and revokeApiKey", () => {
  const person = (roles: Role[]): Principal => ({ userId: USER, roles, tokenId: "jti" });

  it("creates a key for a merchant: the secret once, its hash stored, an audit event", async () => {
    const { store, created } = fakeStore();
    const out = await createApiKey(
      ctx(person(["merchant"])),
      { name: "shop", scopes: ["payments:write", "payments:read", "payments:write"] },
      { store },
    );
    expect(out.key).toMatch(/^mp_live_/);
    expect(out.id).toMatch(/^key_[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(out.scopes).toEqual(["payments:read", "payments:write"]);
    expect(out.prefix).toBe(out.key.slice(0, 12));
    expect(created).toEqual([
      { hash: hashApiKey(out.key), action: "api_key.created", apiKeyId: out.id },
    ]);
  });

  it.each([[["admin"]], [["auditor"]], [["merchant", "admin"]]] as const)(
    "refuses %j with 403 before any store call",
    async (roles) => {
      const { store, calls } = fakeStore();
      const attempt = createApiKey(
        ctx(person([...roles])),
        { name: "x", scopes: ["payments:read"] },
        { store },
      );
      await expect(attempt).rejects.toMatchObject({ code: "forbidden" });
      expect(calls).toEqual([]);
    },
  );

  it("refuses an expiry in the past, and a key caller", async () => {
    const { store } = fakeStore();
    await expect(
      createApiKey(
        ctx(person(["customer"])),
        { name: "x", scopes: ["payments:read"], expiresAt: "2000-01-01T00:00:00Z" },
        { store },
      ),
    ).rejects.toMatchObject({ code: "validation_failed" });
    await expect(
      createApiKey(
        ctx({ ...person(["customer"]), apiKeyId: KEY, scopes: ["payments:read"] }),
        { name: "x", scopes: ["payments:read"] },
        { store },
      ),
    ).rejects.toMatchObject({ code: "forbidden" });
  });

  it("revoking a key that is not the caller's is 404", async () => {
    const { store } = fakeStore();
    const attempt = revokeApiKey(ctx(person(["merchant"])), { id: KEY }, { store });
    await expect(attempt).rejects.toBeInstanceOf(Refusal);
    await expect(attempt).rejects.toMatchObject({ code: "not_found" });
  });
});

describe("audit records name the key", () => {
  it("carries actor.apiKeyId into the record, and redacts a key's secret anywhere", () => {
    const event = {
      eventId: "evt_01ARZ3NDEKTSV4RRFFQ69G5FAV",
      action: "payment.created",
      outcome: "success",
      at: "2026-01-01T00:00:00.000Z",
      actor: {
        userId: USER,
        roles: ["merchant"],
        sourceIp: "127.0.0.1",
        userAgent: `curl ${generateApiKey()}`,
        requestId: "gw-1",
        apiKeyId: KEY,
      },
      targets: { paymentId: "pay_01ARZ3NDEKTSV4RRFFQ69G5FAV" },
    };
    const { record } = buildRecord(event);
    expect(record.actor.apiKeyId).toBe(KEY);
    expect(JSON.stringify(record)).not.toMatch(/mp_live_[0-9A-Za-z]{8}/);
    expect(record.redacted).toEqual(["actor.userAgent"]);
  });

  it("refuses a malformed apiKeyId in an event", () => {
    expect(() =>
      buildRecord({
        eventId: "evt_01ARZ3NDEKTSV4RRFFQ69G5FAV",
        action: "payment.created",
        outcome: "success",
        at: "2026-01-01T00:00:00.000Z",
        actor: {
          userId: USER,
          roles: ["merchant"],
          sourceIp: "127.0.0.1",
          userAgent: "x",
          requestId: "gw-1",
          apiKeyId: "mp_live_notanid",
        },
        targets: {},
      }),
    ).toThrow(/actor\.apiKeyId/);
  });
});
