import { createHmac, createPublicKey, generateKeyPairSync, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type CryptoKey, importJWK, type JWK, SignJWT } from "jose";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { registerUser, stackTable } from "../support/auth.ts";
import { apiEvent, lambdaContext } from "../support/events.ts";
import { call } from "../support/http.ts";

/**
 * The JWT attack catalogue (issue 3, RFC 8725): every forged, altered or misused token
 * answers 401 on GET /v1/me. Claim attacks are signed with the stack's REAL key (read
 * from its data folder), so they prove the claim checks, not just the signature.
 */
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
const ISS = "https://micropay.local";
const AUD = "micropay-api";

let realKey: CryptoKey;
let kid: string;
let publicJwk: JWK;
let good: string;
let userId: string;

function claims(extra: Record<string, unknown> = {}) {
  const now = Math.floor(Date.now() / 1000);
  return {
    iss: ISS,
    aud: AUD,
    sub: userId,
    iat: now,
    exp: now + 600,
    jti: randomUUID(),
    roles: ["admin"],
    ...extra,
  };
}

async function signReal(
  payload: Record<string, unknown>,
  header: Record<string, unknown> = {},
): Promise<string> {
  return new SignJWT(payload)
    .setProtectedHeader({ alg: "ES256", typ: "at+jwt", kid, ...header })
    .sign(realKey);
}

function hmacToken(alg: "HS256" | "HS512", secret: Buffer | string, header = {}): string {
  const h = b64({ alg, typ: "at+jwt", kid, ...header });
  const p = b64(claims());
  const digest = alg === "HS256" ? "sha256" : "sha512";
  const sig = createHmac(digest, secret).update(`${h}.${p}`).digest("base64url");
  return `${h}.${p}.${sig}`;
}

async function attackerSigned(header: Record<string, unknown>): Promise<string> {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  const jwk = publicKey.export({ format: "jwk" });
  const key = await importJWK(privateKey.export({ format: "jwk" }) as JWK, "ES256");
  const resolved = Object.fromEntries(
    Object.entries(header).map(([k, v]) => [k, v === "$attackerJwk" ? jwk : v]),
  );
  return new SignJWT(claims())
    .setProtectedHeader({ alg: "ES256", typ: "at+jwt", kid, ...resolved })
    .sign(key);
}

beforeAll(async () => {
  const stack = inject("stack");
  const jwkText = readFileSync(join(stack.dataDir, "keys", "signing-key.jwk.json"), "utf8");
  const privateJwk = JSON.parse(jwkText) as JWK;
  realKey = (await importJWK(privateJwk, "ES256")) as CryptoKey;
  const jwks = await call<{ keys: (JWK & { kid: string })[] }>("GET", "/.well-known/jwks.json");
  expect(jwks.status).toBe(200);
  const first = jwks.json.keys[0];
  if (!first) throw new Error("no key in the JWKS");
  publicJwk = first;
  kid = first.kid;
  const user = await registerUser();
  userId = user.user.id;
  good = user.accessToken;
});

describe("GET /v1/me with a genuine token (control)", () => {
  it("answers 200, so every 401 below is the attack's doing", async () => {
    expect((await call("GET", "/v1/me", { token: good })).status).toBe(200);
    // A token we mint with the real key and valid claims is accepted too.
    const minted = await signReal(claims({ roles: ["customer"] }));
    expect((await call("GET", "/v1/me", { token: minted })).status).toBe(200);
  });

  it("publishes only public key members in the JWKS", () => {
    expect(Object.keys(publicJwk).sort()).toEqual(["alg", "crv", "kid", "kty", "use", "x", "y"]);
  });
});

describe("the JWT attack catalogue: each answers 401 on GET /v1/me", () => {
  const attacks: [string, () => Promise<string> | string][] = [
    ["alg none", () => `${b64({ alg: "none", typ: "at+jwt" })}.${b64(claims())}.`],
    [
      "alg none with a signature part",
      () => `${b64({ alg: "none", typ: "at+jwt", kid })}.${b64(claims())}.AAAA`,
    ],
    [
      "HS256 signed with the public key (PEM)",
      () =>
        hmacToken(
          "HS256",
          createPublicKey({ key: publicJwk as never, format: "jwk" })
            .export({ format: "pem", type: "spki" })
            .toString(),
        ),
    ],
    ["HS256 signed with the public JWK JSON", () => hmacToken("HS256", JSON.stringify(publicJwk))],
    ["HS512 with a guessed secret", () => hmacToken("HS512", "secret")],
    [
      "missing exp",
      () => {
        const { exp: _exp, ...rest } = claims();
        return signReal(rest);
      },
    ],
    [
      "expired",
      () => {
        const now = Math.floor(Date.now() / 1000);
        return signReal(claims({ iat: now - 1200, exp: now - 300 }));
      },
    ],
    [
      "older than the maximum token age (long exp)",
      () => {
        const now = Math.floor(Date.now() / 1000);
        return signReal(claims({ iat: now - 7200, exp: now + 3600 }));
      },
    ],
    ["nbf in the future", () => signReal(claims({ nbf: Math.floor(Date.now() / 1000) + 3600 }))],
    ["wrong iss", () => signReal(claims({ iss: "https://evil.example" }))],
    ["wrong aud", () => signReal(claims({ aud: "another-api" }))],
    ["missing jti", () => signReal(claims({ jti: undefined }))],
    ["roles not a list of known roles", () => signReal(claims({ roles: ["superuser"] }))],
    [
      "wrong typ: plain JWT (an id token shape)",
      () => signReal(claims({ nonce: "n" }), { typ: "JWT" }),
    ],
    ["wrong typ: refresh token shape", () => signReal(claims(), { typ: "rt+jwt" })],
    ["no typ", () => signReal(claims(), { typ: undefined })],
    ["a refresh token used as a bearer token", async () => (await registerUser()).refreshToken],
    [
      "tampered payload (roles raised to admin)",
      () => {
        const [h, p, s] = good.split(".");
        const payload = JSON.parse(Buffer.from(p ?? "", "base64url").toString()) as object;
        return `${h}.${b64({ ...payload, roles: ["admin"] })}.${s}`;
      },
    ],
    [
      "stripped signature (empty third part)",
      () => good.split(".").slice(0, 2).join(".").concat("."),
    ],
    ["stripped signature (two parts)", () => good.split(".").slice(0, 2).join(".")],
    [
      "kid pointing at a file path (HS256 keyed with /dev/null's empty content)",
      () => hmacToken("HS256", "", { kid: "../../../../../../dev/null" }),
    ],
    ["kid pointing at a file path (ES256)", () => attackerSigned({ kid: "/etc/passwd" })],
    ["jku header to an attacker JWKS", () => attackerSigned({ jku: "https://evil.example/jwks" })],
    [
      "x5u header to an attacker certificate",
      () => attackerSigned({ x5u: "https://evil.example/c" }),
    ],
    ["embedded jwk header (attacker key)", () => attackerSigned({ jwk: "$attackerJwk" })],
    ["a token signed by a different ES256 key with our kid", () => attackerSigned({})],
    [
      "a 5 KB token (over the 4 KB limit, refused before verifying)",
      () => signReal(claims({ pad: "x".repeat(5000) })),
    ],
  ];

  for (const [name, make] of attacks) {
    it(name, async () => {
      const token = await make();
      const res = await call("GET", "/v1/me", { token });
      expect(res.status).toBe(401);
      expect(res.json).toMatchObject({ code: "unauthorized", status: 401 });
      expect(res.text).not.toContain(userId);
    });
  }

  it("a 300 KB token: 401 from the chain, and never reaches verification", async () => {
    const huge = `${b64({ alg: "ES256", typ: "at+jwt", kid })}.${"A".repeat(300 * 1024)}.AAAA`;
    // Through the local gateway, Node's HTTP parser refuses a 300 KB header outright
    // (431, like API Gateway's own header limit): never a 2xx.
    const viaGateway = await call("GET", "/v1/me", { token: huge }).catch(() => ({ status: 0 }));
    expect([401, 431, 0]).toContain(viaGateway.status);
    // The handler itself, given the same request, answers 401 (the 4 KB check).
    const stack = inject("stack");
    process.env.MICROPAY_SIGNING_KEY_FILE = join(stack.dataDir, "keys", "signing-key.jwk.json");
    process.env.MICROPAY_DYNAMODB_ENDPOINT = stack.dynamodbEndpoint;
    process.env.MICROPAY_TABLE_NAME = stack.tableName;
    const { handler } = await import("../../functions/me.ts");
    const started = performance.now();
    const res = await handler(
      apiEvent({
        method: "GET",
        path: "/v1/me",
        headers: { Authorization: `Bearer ${huge}` },
      }),
      lambdaContext(),
    );
    expect(res.statusCode).toBe(401);
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it("records each rejected token as an auth.token_rejected security event", async () => {
    const requestId = `jwt-attack-${randomUUID()}`;
    const forged = hmacToken("HS512", "secret");
    const res = await call("GET", "/v1/me", {
      token: forged,
      headers: { "X-Request-Id": requestId },
    });
    expect(res.status).toBe(401);
    const table = stackTable(inject("stack"));
    try {
      const events = await table.auditEvents((e) => e.actor.clientRequestId === requestId);
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({
        action: "auth.token_rejected",
        outcome: "failure",
        reason: "bad_header",
      });
      expect(JSON.stringify(events)).not.toContain(forged);
    } finally {
      table.destroy();
    }
  });
});
