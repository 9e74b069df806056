import { connect } from "node:net";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { apiUrl, missingSecurityHeaders } from "../support/http.ts";

/**
 * Issue 11 item 6: the local gateway over raw sockets. Whatever the header names,
 * query names, path or request line, every answer is a 4xx (or 2xx) problem+json or
 * JSON answer with every security header; never a 5xx, a bare status line or a closed
 * socket. Inputs are bounded and seeded (fast-check); a failure prints its seed and
 * counterexample, and MICROPAY_FUZZ_SEED=<seed> replays it.
 */
const SEED = Number(process.env.MICROPAY_FUZZ_SEED ?? 20_251_106);
const RUNS = 120;
const EXCHANGE_TIMEOUT_MS = 10_000;

interface RawAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Buffer;
  readonly raw: string;
}

/**
 * Sends bytes as they are on a fresh loopback connection and reads the first final
 * answer; every request says `Connection: close`, so the gateway closes when done.
 * Only a request that announces a body (that the test never sends in full) also ends
 * its side, so that the gateway learns the body is not coming; ending every request
 * early would make Node drop the request before it is answered.
 */
function exchange(request: Buffer | string): Promise<RawAnswer> {
  const { hostname, port } = new URL(apiUrl());
  const bytes = typeof request === "string" ? Buffer.from(request, "latin1") : request;
  const head = bytes.subarray(0, Math.max(0, bytes.indexOf("\r\n\r\n"))).toString("latin1");
  const announcesBody = /\r\n[ \t]*(content-length|transfer-encoding)[ \t]*:/i.test(head);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) });
    const chunks: Buffer[] = [];
    const guard = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no complete answer within ${EXCHANGE_TIMEOUT_MS} ms`));
    }, EXCHANGE_TIMEOUT_MS);
    socket.on("data", (c: Buffer) => chunks.push(c));
    socket.on("error", () => undefined); // a reset after the answer is judged by what arrived
    socket.on("close", () => {
      clearTimeout(guard);
      try {
        resolve(parseAnswer(Buffer.concat(chunks)));
      } catch (error) {
        reject(error);
      }
    });
    if (announcesBody) socket.end(bytes);
    else socket.write(bytes);
  });
}

/** The first final (non-1xx) HTTP/1.1 response in the bytes a connection received. */
function parseAnswer(all: Buffer): RawAnswer {
  let rest = all;
  for (;;) {
    const split = rest.indexOf("\r\n\r\n");
    const head = rest.subarray(0, split < 0 ? rest.length : split).toString("latin1");
    const statusLine = /^HTTP\/1\.[01] (\d{3}) /.exec(head);
    if (split < 0 || !statusLine) {
      throw new Error(`no HTTP answer; received ${JSON.stringify(all.toString("latin1"))}`);
    }
    const status = Number(statusLine[1]);
    const headers = new Headers();
    for (const line of head.split("\r\n").slice(1)) {
      const colon = line.indexOf(":");
      headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
    }
    const after = rest.subarray(split + 4);
    if (status >= 100 && status < 200) {
      rest = after;
      continue;
    }
    const length = Number(headers.get("content-length") ?? after.length);
    return { status, headers, body: after.subarray(0, length), raw: head };
  }
}

/** What every answer of the gateway must be: no 5xx, a JSON body if any, every security header. */
function expectSafeAnswer(answer: RawAnswer, label: string): void {
  const where = `${label}\n${answer.raw}`;
  expect(answer.status, where).toBeGreaterThanOrEqual(200);
  expect(answer.status, where).toBeLessThan(500);
  expect(missingSecurityHeaders(answer.headers), where).toEqual([]);
  expect(answer.headers.get("x-frame-options"), where).toBe("DENY");
  if (answer.body.length > 0) {
    expect(answer.headers.get("content-type") ?? "", where).toMatch(
      /^application\/(problem\+)?json\b/,
    );
    JSON.parse(answer.body.toString("utf8")); // and it is JSON
  }
}

function expectProblem(answer: RawAnswer, status: number, code: string, label: string): void {
  expectSafeAnswer(answer, label);
  expect(answer.status, label).toBe(status);
  expect(answer.headers.get("content-type"), label).toBe("application/problem+json");
  expect(JSON.parse(answer.body.toString("utf8")), label).toMatchObject({ status, code });
}

/** A request: the line, a Host, the given headers, `Connection: close`, then the body. */
function request(
  line: string,
  headers: readonly (readonly [string, string])[] = [],
  body = "",
): string {
  const fields = ["Host: 127.0.0.1", ...headers.map(([n, v]) => `${n}: ${v}`), "Connection: close"];
  return `${line}\r\n${fields.join("\r\n")}\r\n\r\n${body}`;
}

const PROTOTYPE_NAMES = ["__proto__", "constructor", "toString", "valueOf"] as const;

describe("the local gateway's answers to malformed requests (fixed cases)", () => {
  it.each(PROTOTYPE_NAMES)("a header named %s is an ordinary header", async (name) => {
    const health = await exchange(request("GET /v1/health HTTP/1.1", [[name, "x"]]));
    expectSafeAnswer(health, name);
    expect(health.status).toBe(200);
    expectProblem(
      await exchange(request("GET /v1/accounts HTTP/1.1", [[name, "x"]])),
      401,
      "unauthorized",
      name,
    );
  });

  it.each(PROTOTYPE_NAMES)("a query name %s is refused with 400", async (name) => {
    expectProblem(
      await exchange(request(`GET /v1/health?${name}=1 HTTP/1.1`)),
      400,
      "validation_failed",
      name,
    );
    expectProblem(
      await exchange(request(`GET /v1/health?${name}=1&${name}=2 HTTP/1.1`)),
      400,
      "validation_failed",
      `${name} twice`,
    );
  });

  it.each(["/v1/accounts/%E0%A4%A", "/v1/payments/%ZZ", "/v1/payments/%ZZ/refunds"])(
    "a path with bad percent-encoding (%s) is refused with 400",
    async (path) => {
      expectProblem(
        await exchange(request(`GET ${path} HTTP/1.1`)),
        400,
        "validation_failed",
        path,
      );
    },
  );

  it.each([
    ["GET // HTTP/1.1", 404],
    ["GET //evil.example/v1/health HTTP/1.1", 404],
    ["GET * HTTP/1.1", 400],
    ["OPTIONS * HTTP/1.1", 400],
    ["GET http://[::1 HTTP/1.1", 400],
    ["GET http://x:99999/v1/health HTTP/1.1", 400],
    ["GET v1/health HTTP/1.1", 400],
    ["GET /v1/health\tx HTTP/1.1", 400],
    ["FOO /v1/health HTTP/1.1", 400],
    ["GET /v1/health HTTP/9.9", 400],
    ["GET /\u0080\u00ff HTTP/1.1", 400],
    ["\u0000\u0001\u0002", 400],
  ])("the malformed request line %j is answered %i", async (line, status) => {
    const answer = await exchange(request(line));
    expectSafeAnswer(answer, line);
    expect(answer.status, line).toBe(status);
    expect(answer.headers.get("content-type")).toBe("application/problem+json");
  });

  it("a request line without a version (Node reads it as HTTP/0.9) gets a safe answer", async () => {
    const answer = await exchange(request("GET /v1/accounts"));
    expectProblem(answer, 401, "unauthorized", "no version");
  });

  it("a header larger than the parser accepts is a 431 problem", async () => {
    const answer = await exchange(
      request("GET /v1/health HTTP/1.1", [["X-Big", "a".repeat(20_000)]]),
    );
    expectProblem(answer, 431, "headers_too_large", "431");
    expect(JSON.parse(answer.body.toString("utf8"))).toMatchObject({
      title: "Request Header Fields Too Large",
    });
  });

  it("an HTTP/1.1 request without Host is a 400 problem", async () => {
    expectProblem(
      await exchange("GET /v1/health HTTP/1.1\r\nConnection: close\r\n\r\n"),
      400,
      "bad_request",
      "no Host",
    );
  });

  it("an Expect other than 100-continue is a 417 problem", async () => {
    expectProblem(
      await exchange(request("GET /v1/health HTTP/1.1", [["Expect", "teapot"]])),
      417,
      "expectation_failed",
      "Expect",
    );
  });

  it("CONNECT is a 400 problem, not a closed socket", async () => {
    expectProblem(
      await exchange("CONNECT 127.0.0.1:443 HTTP/1.1\r\nHost: 127.0.0.1:443\r\n\r\n"),
      400,
      "bad_request",
      "CONNECT",
    );
  });

  it("a body shorter than its Content-Length is a 400 problem", async () => {
    expectProblem(
      await exchange(
        request(
          "POST /v1/auth/login HTTP/1.1",
          [
            ["Content-Type", "application/json"],
            ["Content-Length", "50"],
          ],
          '{"email":',
        ),
      ),
      400,
      "bad_request",
      "short body",
    );
  });

  it("conflicting Content-Lengths and an HTTP/2 preface are 400 problems", async () => {
    const twice = request("POST /v1/auth/login HTTP/1.1", [
      ["Content-Length", "1"],
      ["Content-Length", "2"],
    ]);
    expectProblem(await exchange(twice), 400, "bad_request", "two Content-Lengths");
    expectProblem(
      await exchange("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
      400,
      "bad_request",
      "h2 preface",
    );
  });
});

// ---- generators ----------------------------------------------------------------

const TCHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
/** Printable ASCII without space: what may appear in a request target unencoded. */
const VCHARS = Array.from({ length: 0x7e - 0x21 + 1 }, (_, i) => String.fromCharCode(0x21 + i));
/** Any byte but CR and LF (which would end the line), as a latin1 character. */
const LINE_BYTES = Array.from({ length: 256 }, (_, i) => String.fromCharCode(i)).filter(
  (c) => c !== "\r" && c !== "\n",
);

const specialNames = fc.constantFrom(
  ...PROTOTYPE_NAMES,
  "hasOwnProperty",
  "isPrototypeOf",
  "prototype",
  "__defineGetter__",
  "Content-Type",
  "Content-Length",
  "Transfer-Encoding",
  "Expect",
  "Origin",
  "Host",
  "Upgrade",
  "X-Request-Id",
  "Authorization",
  "Idempotency-Key",
);
const tokenName = fc.string({ unit: fc.constantFrom(...TCHARS), minLength: 1, maxLength: 24 });
/** Names Node's parser must refuse (separators, controls, bytes over 0x7f) included. */
const anyName = fc.string({ unit: fc.constantFrom(...LINE_BYTES), minLength: 1, maxLength: 16 });
const headerName = fc.oneof(specialNames, tokenName, anyName);
const headerValue = fc.oneof(
  fc.constantFrom("", "x", "0", "5", "chunked", "100-continue", "application/json; charset=utf-16"),
  fc.string({ unit: fc.constantFrom(...VCHARS, " "), maxLength: 24 }),
);

const queryName = fc.oneof(
  specialNames,
  fc.string({ maxLength: 12 }).map(encodeURIComponent),
  fc.string({ unit: fc.constantFrom(...VCHARS), minLength: 1, maxLength: 12 }),
);

const percentJunk = fc.oneof(
  fc.constantFrom(
    "%",
    "%Z",
    "%ZZ",
    "%E0%A4%A",
    "%E0%A4",
    "%C0%AF",
    "%ED%A0%80",
    "%FF",
    "%00",
    "%2F",
  ),
  fc
    .uint8Array({ minLength: 1, maxLength: 4 })
    .map((b) => [...b].map((x) => `%${x.toString(16).padStart(2, "0")}`).join("")),
);
const segment = fc
  .array(fc.oneof(percentJunk, fc.string({ unit: fc.constantFrom(...VCHARS), maxLength: 6 })), {
    minLength: 1,
    maxLength: 4,
  })
  .map((parts) => parts.join("").replaceAll("?", "%3F").replaceAll("#", "%23"));
const path = fc
  .tuple(
    fc.constantFrom(
      "/v1/accounts/",
      "/v1/payments/",
      "/v1/accounts/acc_1/entries/",
      "/v1/admin/users/",
      "/v1/",
      "/v1/payments/pay_1/",
    ),
    segment,
    fc.constantFrom("", "/refunds", "/entries", "/", "/x/y"),
  )
  .map(([prefix, seg, suffix]) => `${prefix}${seg}${suffix}`);

const method = fc.constantFrom("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD");
const version = fc.constantFrom(
  "HTTP/1.1",
  "HTTP/1.0",
  "HTTP/2.0",
  "HTTP/1.2",
  "HTTP/0.9",
  "http/1.1",
  "HTTP/1.1 x",
  "",
);
const requestLine = fc.oneof(
  fc
    .tuple(
      fc.oneof(method, fc.constantFrom("CONNECT", "TRACE", "PRI", "get", "G E T"), tokenName),
      fc.oneof(
        path,
        fc.string({ unit: fc.constantFrom(...VCHARS), maxLength: 30 }),
        fc.string({ unit: fc.constantFrom(...LINE_BYTES), maxLength: 30 }),
      ),
      version,
    )
    .map(([m, t, v]) => `${m} ${t} ${v}`.trimEnd()),
  fc.string({ unit: fc.constantFrom(...LINE_BYTES), minLength: 1, maxLength: 60 }),
);

const options = { seed: SEED, numRuns: RUNS, endOnFailure: true } as const;

describe(`the local gateway under fuzzing (seed ${SEED})`, () => {
  it("header names: never a 5xx, always problem+json/JSON with every security header", async () => {
    await fc.assert(
      fc.asyncProperty(
        method,
        fc.constantFrom(
          "/v1/accounts",
          "/v1/auth/login",
          "/v1/payments/pay_1",
          "/nope",
          "/openapi.json",
        ),
        fc.array(fc.tuple(headerName, headerValue), { minLength: 1, maxLength: 4 }),
        async (m, p, headers) => {
          expectSafeAnswer(await exchange(request(`${m} ${p} HTTP/1.1`, headers)), `${m} ${p}`);
        },
      ),
      options,
    );
  });

  it("query names: never a 5xx, always problem+json/JSON with every security header", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("/v1/health", "/v1/accounts", "/v1/payments", "/nope"),
        fc.array(
          fc.tuple(queryName, fc.string({ unit: fc.constantFrom(...VCHARS), maxLength: 8 })),
          {
            minLength: 1,
            maxLength: 4,
          },
        ),
        async (p, pairs) => {
          const query = pairs.map(([n, v]) => `${n}=${v.replaceAll("#", "%23")}`).join("&");
          const target = `${p}?${query.replaceAll("#", "%23")}`;
          expectSafeAnswer(await exchange(request(`GET ${target} HTTP/1.1`)), target);
        },
      ),
      options,
    );
  });

  it("paths: never a 5xx, always problem+json/JSON with every security header", async () => {
    await fc.assert(
      fc.asyncProperty(method, path, async (m, p) => {
        expectSafeAnswer(await exchange(request(`${m} ${p} HTTP/1.1`)), `${m} ${p}`);
      }),
      options,
    );
  });

  it("raw request lines: never a 5xx, always problem+json/JSON with every security header", async () => {
    await fc.assert(
      fc.asyncProperty(requestLine, async (line) => {
        expectSafeAnswer(await exchange(request(line)), JSON.stringify(line));
      }),
      options,
    );
  });
});
