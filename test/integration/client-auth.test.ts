import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createMicroPayClient, type TokenPair } from "../../client/index.ts";
import { IDEMPOTENT_OPERATIONS } from "../../client/operations.ts";
import { totpCode } from "../../lib/auth/totp.ts";
import { adminToken, enrolTotp, registerUser } from "../support/auth.ts";
import { apiUrl } from "../support/http.ts";

/**
 * The typed client (client/index.ts) against the real local stack: typed calls,
 * login, refresh-token rotation on a 401 (once, shared by concurrent calls), and the
 * automatic Idempotency-Key on money-moving calls. A recording fetch wraps the real
 * one so the test can see what the client sent; nothing is mocked.
 */

interface Sent {
  readonly method: string;
  readonly path: string;
  readonly idempotencyKey: string | null;
}

function recordingFetch() {
  const sent: Sent[] = [];
  const fetch = async (request: Request): Promise<Response> => {
    sent.push({
      method: request.method,
      path: new URL(request.url).pathname,
      idempotencyKey: request.headers.get("Idempotency-Key"),
    });
    return globalThis.fetch(request);
  };
  return { sent, fetch };
}

const password = "correct horse battery staple";

async function newCustomer() {
  const recorder = recordingFetch();
  const mp = createMicroPayClient({ baseUrl: apiUrl(), fetch: recorder.fetch });
  const email = `client-${randomUUID()}@example.com`;
  const { data, error, response } = await mp.POST("/v1/auth/register", {
    body: { email, password, currency: "USD" },
  });
  expect(error, JSON.stringify(error)).toBeUndefined();
  expect(response.status).toBe(201);
  await mp.login(email, password);
  return { mp, email, recorder, accountId: data?.account.id as string };
}

describe("the typed client against the local stack", () => {
  it("logs in and makes typed calls with the bearer token", async () => {
    const { mp, email } = await newCustomer();
    const { data, error } = await mp.GET("/v1/me");
    expect(error).toBeUndefined();
    expect(data?.email).toBe(email);
    expect(mp.tokens()?.refreshToken).toBeTruthy();
  });

  it("rotates the refresh token once on a 401 and retries the call", async () => {
    const { mp, email, recorder } = await newCustomer();
    const before = mp.tokens() as TokenPair;
    const changes: (TokenPair | null)[] = [];
    // A session whose access token is no good any more (expired, or the key rotated).
    mp.setTokens({ accessToken: "not.a.valid-token", refreshToken: before.refreshToken });
    const spy = createMicroPayClient({
      baseUrl: apiUrl(),
      fetch: recorder.fetch,
      tokens: mp.tokens() as TokenPair,
      onTokens: (t) => changes.push(t),
    });
    recorder.sent.length = 0;

    // Three concurrent calls all get 401; they must share ONE refresh, since
    // presenting the same refresh token twice would revoke the whole family.
    const results = await Promise.all([spy.GET("/v1/me"), spy.GET("/v1/me"), spy.GET("/v1/me")]);
    for (const r of results) {
      expect(r.response.status).toBe(200);
      expect(r.data?.email).toBe(email);
    }
    expect(recorder.sent.filter((s) => s.path === "/v1/auth/refresh")).toHaveLength(1);
    const after = spy.tokens() as TokenPair;
    expect(after.refreshToken).not.toBe(before.refreshToken);
    expect(changes).toEqual([after]);

    // The rotated-away token is dead: a client still holding it gets its 401 back
    // and forgets the session (the server revokes the family on reuse).
    const stale = createMicroPayClient({
      baseUrl: apiUrl(),
      tokens: { accessToken: "not.a.valid-token", refreshToken: before.refreshToken },
    });
    const denied = await stale.GET("/v1/me");
    expect(denied.response.status).toBe(401);
    expect(denied.error).toMatchObject({ status: 401 });
    expect(stale.tokens()).toBeNull();
  });

  it("logs a user with MFA in with the code step, asked for only when the API wants it", async () => {
    const user = await registerUser();
    const { secret } = await enrolTotp(user.accessToken);
    const mp = createMicroPayClient({ baseUrl: apiUrl() });
    const refused = await mp.login(user.email, user.password).then(
      () => null,
      (e: unknown) => e,
    );
    expect(refused).toMatchObject({ name: "MicroPayAuthError", problem: { mfaRequired: true } });
    // Enrolment spent this step's code: the next step's (one step of drift is accepted).
    let asked = 0;
    await mp.login(user.email, user.password, {
      code: () => {
        asked++;
        return totpCode(secret, Date.now() + 30_000);
      },
    });
    expect(asked).toBe(1);
    const me = await mp.GET("/v1/me");
    expect(me.data?.id).toBe(user.user.id);
  });

  it("adds an Idempotency-Key to money-moving calls, and keeps the caller's", async () => {
    expect(IDEMPOTENT_OPERATIONS).toContain("POST /v1/payments");
    const alice = await newCustomer();
    const bob = await newCustomer();
    const admin = createMicroPayClient({ baseUrl: apiUrl(), fetch: alice.recorder.fetch });
    admin.setTokens({ accessToken: await adminToken(), refreshToken: "rt_unused" });

    const deposit = await admin.POST("/v1/accounts/{accountId}/deposits", {
      params: { path: { accountId: alice.accountId } },
      body: { amount: 10_000, reference: "client test funding" },
    });
    expect(deposit.error, JSON.stringify(deposit.error)).toBeUndefined();
    const depositSent = alice.recorder.sent.find((s) => s.path.endsWith("/deposits"));
    expect(depositSent?.idempotencyKey).toMatch(/^[0-9a-f-]{36}$/);

    const body = {
      sourceAccountId: alice.accountId,
      destinationAccountId: bob.accountId,
      amount: 1_250,
      currency: "USD",
    };
    const first = await alice.mp.POST("/v1/payments", { body });
    expect(first.error, JSON.stringify(first.error)).toBeUndefined();
    expect(first.response.headers.get("Idempotent-Replayed")).toBeNull();
    const auto = alice.recorder.sent.filter((s) => s.path === "/v1/payments");
    expect(auto).toHaveLength(1);
    expect(auto[0]?.idempotencyKey).toMatch(/^[0-9a-f-]{36}$/);

    // A retry of the same logical call passes its key: the stored result is replayed.
    const key = auto[0]?.idempotencyKey as string;
    const retry = await alice.mp.POST("/v1/payments", {
      body,
      params: { header: { "Idempotency-Key": key } },
    });
    expect(retry.response.headers.get("Idempotent-Replayed")).toBe("true");
    expect(retry.data?.id).toBe(first.data?.id);

    // Non-money calls carry no key.
    await alice.mp.GET("/v1/me");
    expect(alice.recorder.sent.find((s) => s.path === "/v1/me")?.idempotencyKey ?? null).toBeNull();
  });
});
