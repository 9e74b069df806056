import { createHash, randomUUID } from "node:crypto";
import {
  createServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
  STATUS_CODES,
} from "node:http";
import { join } from "node:path";
import type { Duplex } from "node:stream";
import { pathToFileURL } from "node:url";
import { API_KEY_BEARER_PREFIX } from "../lib/auth/api-keys.ts";
import { fallbackHandler } from "../lib/http/fallback.ts";
import { toProblemResult } from "../lib/http/problem.ts";
import { API_SECURITY_HEADERS } from "../lib/http/security-headers.ts";
import type { ApiEvent, ApiResult, Context } from "../lib/http/types.ts";
import { type ProblemCode, Refusal, statusOf } from "../lib/problems.ts";
import type { RouteDef } from "../lib/routes/types.ts";
import { SlidingWindowLimit, TokenBucket } from "./throttle.ts";

export type LambdaHandler = (event: ApiEvent, context: Context) => Promise<ApiResult>;

/** API Gateway's own payload limit is 10 MB; locally we stop reading far earlier. */
const MAX_READ_BYTES = 1024 * 1024;

interface CompiledRoute {
  readonly route: RouteDef;
  readonly regex: RegExp;
  readonly paramNames: readonly string[];
  readonly handler: LambdaHandler;
}

export interface GatewayOptions {
  readonly routes: readonly RouteDef[];
  /** Where `functions/<route id>.ts` is imported from, unless `handlers` gives them. */
  readonly functionsDir: string;
  /** The handler of each route id (the artifacts mode's loaded bundles). */
  readonly handlers?: ReadonlyMap<string, LambdaHandler>;
  readonly host?: string;
  readonly port: number;
  /** Stage throttle (requests/s and burst); 0 disables. Routes may declare stricter ones. */
  readonly throttleRate: number;
  readonly throttleBurst: number;
  /**
   * The WAF's per-API-key rule mirrored: requests per key (`Authorization: Bearer
   * mp_live_…`) per `apiKeyWindowSeconds`; 0 disables.
   */
  readonly apiKeyRateLimit?: number;
  readonly apiKeyWindowSeconds?: number;
}

export interface Gateway {
  readonly url: string;
  readonly server: Server;
  close(): Promise<void>;
}

/**
 * A small local API Gateway: matches the route table, turns the HTTP request into a
 * REST (v1) proxy event, invokes the real handler module, and writes its result back.
 * Unknown paths answer 404, known paths with another method 405, both problem+json.
 */
export async function startGateway(opts: GatewayOptions): Promise<Gateway> {
  const compiled: CompiledRoute[] = [];
  for (const route of opts.routes) {
    const handler = opts.handlers
      ? opts.handlers.get(route.id)
      : (
          (await import(pathToFileURL(join(opts.functionsDir, `${route.id}.ts`)).href)) as {
            handler: LambdaHandler;
          }
        ).handler;
    if (!handler) throw new Error(`no handler for route ${route.id}`);
    const paramNames: string[] = [];
    const pattern = route.path.replace(/\{([A-Za-z0-9_]+)\}/g, (_m, name: string) => {
      paramNames.push(name);
      return "([^/]+)";
    });
    compiled.push({ route, regex: new RegExp(`^${pattern}$`), paramNames, handler });
  }
  const fallback = fallbackHandler();
  const stageBucket = new TokenBucket(opts.throttleRate, opts.throttleBurst);
  const routeBuckets = new Map<string, TokenBucket>();
  const perApiKey = new SlidingWindowLimit(
    opts.apiKeyRateLimit ?? 0,
    (opts.apiKeyWindowSeconds ?? 300) * 1000,
  );
  if (opts.throttleRate > 0) {
    for (const { route } of compiled) {
      if (route.throttle) {
        routeBuckets.set(route.id, new TokenBucket(route.throttle.rate, route.throttle.burst));
      }
    }
  }

  // Node answers a few requests itself with a bare status line (no Host header: 400;
  // an Expect other than 100-continue: 417; CONNECT: a closed socket; a request its
  // parser refuses: 400, 431, 413 or 408). Each is taken over here so that every
  // answer of this gateway is problem+json with every security header.
  const server = createServer({ requireHostHeader: false }, (req, res) => {
    serve(req, res);
  });
  server.on("checkExpectation", (req: IncomingMessage, res: ServerResponse) => {
    serve(req, res, new Refusal("expectation_failed", "Only `Expect: 100-continue` is supported."));
  });
  server.on("connect", (_req: IncomingMessage, socket: Duplex) => {
    answerRaw(socket, "bad_request", "CONNECT is not supported.");
  });
  server.on("clientError", (error: NodeJS.ErrnoException, socket: Duplex) => {
    if (error.code === "ECONNRESET") {
      socket.destroy(); // the peer is gone: there is no one to answer
      return;
    }
    const { code, detail } = clientErrorProblem(error.code);
    answerRaw(socket, code, detail);
  });

  function serve(req: IncomingMessage, res: ServerResponse, refused?: Refusal): void {
    handle(req, res, refused).catch(() => {
      // A bug in this gateway or a handler that threw past its own chain.
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const answer = bareProblem("internal_error", "An unexpected error occurred.");
      const body = Buffer.from(answer.body, "utf8");
      res.writeHead(500, { ...answer.headers, "Content-Length": String(body.length) });
      res.end(body);
    });
  }

  async function handle(
    req: IncomingMessage,
    res: ServerResponse,
    refused?: Refusal,
  ): Promise<void> {
    const method = (req.method ?? "GET").toUpperCase();
    const target = parseTarget(req.url ?? "");
    const context = lambdaContext();
    const answerWith = async (event: ApiEvent, error?: Refusal, close = false) => {
      (context as unknown as { fallbackError?: Refusal }).fallbackError = error;
      write(res, await fallback(event, context), close);
    };

    // Refusals that do not read the body (it may never come).
    const early =
      refused ??
      (target === undefined
        ? new Refusal("bad_request", "The request target is malformed.")
        : req.httpVersion === "1.1" && req.headers.host === undefined
          ? new Refusal("bad_request", "An HTTP/1.1 request needs a Host header.")
          : undefined);
    if (early || target === undefined) {
      return answerWith(toEvent(req, ROOT_TARGET, method, Buffer.alloc(0)), early, true);
    }

    let read: { body: Buffer; tooLarge: boolean };
    try {
      read = await readBody(req);
    } catch {
      // The client stopped sending before the body its headers announced.
      return answerWith(
        toEvent(req, target, method, Buffer.alloc(0)),
        new Refusal("bad_request", "The request body ended early."),
        true,
      );
    }
    const event = toEvent(req, target, method, read.body);

    const matches = compiled
      .map((c) => ({ c, m: c.regex.exec(target.path) }))
      .filter((x): x is { c: CompiledRoute; m: RegExpExecArray } => x.m !== null);
    if (matches.length === 0) {
      return answerWith(event, new Refusal("not_found", "No such route."));
    }
    const hit = matches.find((x) => x.c.route.method === method);
    if (!hit) {
      if (method === "OPTIONS") return answerWith(event); // CORS preflight
      const allow = [...new Set(matches.map((x) => x.c.route.method))].join(", ");
      return answerWith(
        event,
        new Refusal("method_not_allowed", `Use ${allow} on this path.`, {
          headers: { Allow: allow },
        }),
      );
    }
    if (read.tooLarge) {
      return answerWith(event, new Refusal("payload_too_large", "The request body is too large."));
    }
    const bucket = routeBuckets.get(hit.c.route.id);
    if (!stageBucket.take() || (bucket && !bucket.take())) {
      return answerWith(event, new Refusal("rate_limited", "Too many requests; slow down."));
    }
    const authorization = req.headers.authorization;
    if (authorization?.startsWith(API_KEY_BEARER_PREFIX)) {
      const wait = perApiKey.take(createHash("sha256").update(authorization).digest("hex"));
      if (wait !== undefined) {
        return answerWith(
          event,
          new Refusal("rate_limited", "Too many requests with this API key; retry later.", {
            retryAfter: wait,
          }),
        );
      }
    }
    const params: Record<string, string> = Object.create(null);
    for (const [i, name] of hit.c.paramNames.entries()) {
      const decoded = decodePathSegment(hit.m[i + 1] ?? "");
      if (decoded === undefined) {
        return answerWith(
          event,
          new Refusal("validation_failed", "The path is not valid percent-encoded UTF-8.", {
            errors: [{ path: `path.${name}`, message: "invalid percent-encoding" }],
          }),
        );
      }
      params[name] = decoded;
    }
    event.resource = hit.c.route.path;
    event.pathParameters = hit.c.paramNames.length > 0 ? params : null;
    event.requestContext.resourcePath = hit.c.route.path;
    write(res, await hit.c.handler(event, context));
  }

  const host = opts.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, host, () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : opts.port;
  return {
    url: `http://${host}:${port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function readBody(req: IncomingMessage): Promise<{ body: Buffer; tooLarge: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = false;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_READ_BYTES) {
      tooLarge = true;
      continue; // drain without keeping it
    }
    chunks.push(chunk as Buffer);
  }
  return { body: Buffer.concat(chunks), tooLarge };
}

/** A request target split into its path (still percent-encoded) and query. */
interface Target {
  readonly path: string;
  readonly query: URLSearchParams;
}

const ROOT_TARGET: Target = { path: "/", query: new URLSearchParams() };

/**
 * The path and query of an origin-form (`/path?query`) or absolute-form
 * (`http://host/path`) request target; undefined for anything else (`*`, an
 * authority, or what WHATWG URL refuses). WHATWG URL does the parsing; an
 * origin-form target is appended to a fixed origin so that `//x/y` stays a path.
 */
function parseTarget(raw: string): Target | undefined {
  let url: URL;
  try {
    if (raw.startsWith("/")) url = new URL(`http://localhost${raw}`);
    else if (/^https?:\/\//i.test(raw)) url = new URL(raw);
    else return undefined;
  } catch {
    return undefined;
  }
  return { path: url.pathname, query: url.searchParams };
}

/** One path segment percent-decoded, or undefined when its encoding is not valid UTF-8. */
function decodePathSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/**
 * Header and query maps as API Gateway delivers them (JSON parsed in the Lambda
 * runtime, so `__proto__` is an ordinary own key). Objects without a prototype keep
 * that: a name such as `__proto__`, `constructor` or `toString` is just a name here.
 */
function record<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}

function toEvent(req: IncomingMessage, target: Target, method: string, body: Buffer): ApiEvent {
  const headers = record<string>();
  const multiValueHeaders = record<string[]>();
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i] ?? "";
    const value = req.rawHeaders[i + 1] ?? "";
    headers[name] = value;
    const list = multiValueHeaders[name] ?? [];
    list.push(value);
    multiValueHeaders[name] = list;
  }
  const query = record<string>();
  const multiQuery = record<string[]>();
  for (const [k, v] of target.query) {
    query[k] = v;
    const list = multiQuery[k] ?? [];
    list.push(v);
    multiQuery[k] = list;
  }
  const hasQuery = Object.keys(query).length > 0;
  const sourceIp = (req.socket.remoteAddress ?? "127.0.0.1").replace(/^::ffff:/, "");
  const text = body.toString("utf8");
  // Like API Gateway: a body that is not valid UTF-8 text arrives base64-encoded.
  const isBinary = !Buffer.from(text, "utf8").equals(body);
  const requestId = randomUUID();
  return {
    resource: target.path,
    path: target.path,
    httpMethod: method,
    headers,
    multiValueHeaders,
    queryStringParameters: hasQuery ? query : null,
    multiValueQueryStringParameters: hasQuery ? multiQuery : null,
    pathParameters: null,
    stageVariables: null,
    body: body.length === 0 ? null : isBinary ? body.toString("base64") : text,
    isBase64Encoded: isBinary,
    requestContext: {
      accountId: "000000000000",
      apiId: "local",
      authorizer: null,
      protocol: `HTTP/${req.httpVersion}`,
      httpMethod: method,
      path: `/local${target.path}`,
      stage: "local",
      requestId,
      requestTimeEpoch: Date.now(),
      resourceId: "local",
      resourcePath: target.path,
      identity: {
        accessKey: null,
        accountId: null,
        apiKey: null,
        apiKeyId: null,
        caller: null,
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp,
        user: null,
        userAgent: headers["User-Agent"] ?? headers["user-agent"] ?? null,
        userArn: null,
      },
    },
  } as ApiEvent;
}

function lambdaContext(): Context {
  const deadline = Date.now() + 29_000;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: "micropay-local",
    functionVersion: "$LATEST",
    invokedFunctionArn: "arn:aws:lambda:local:000000000000:function:micropay-local",
    memoryLimitInMB: "1024",
    awsRequestId: randomUUID(),
    logGroupName: "/aws/lambda/micropay-local",
    logStreamName: "local",
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

function write(res: ServerResponse, result: ApiResult, close = false): void {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(result.headers ?? {})) {
    if (v !== undefined && v !== null) headers[k] = String(v);
  }
  const body = result.isBase64Encoded
    ? Buffer.from(result.body ?? "", "base64")
    : Buffer.from(result.body ?? "", "utf8");
  headers["Content-Length"] = String(body.length);
  if (close) headers.Connection = "close";
  res.writeHead(result.statusCode, headers);
  res.end(body);
}

/**
 * A problem+json answer with every security header for what never reaches a handler
 * or the fallback chain: the problem body from lib/http/problem.ts, the header set
 * from lib/http/security-headers.ts, and a fresh request id.
 */
function bareProblem(
  code: ProblemCode,
  detail: string,
): { headers: Record<string, string>; body: string } {
  const requestId = randomUUID();
  const result = toProblemResult(new Refusal(code, detail), requestId);
  const headers: Record<string, string> = { ...API_SECURITY_HEADERS };
  for (const [k, v] of Object.entries(result.headers ?? {})) headers[k] = String(v);
  headers["X-Request-Id"] = requestId;
  return { headers, body: result.body };
}

/** What to answer a request Node's HTTP parser refused, by the parser's error code. */
function clientErrorProblem(code: string | undefined): { code: ProblemCode; detail: string } {
  switch (code) {
    case "HPE_HEADER_OVERFLOW":
      return {
        code: "headers_too_large",
        detail: "The request line and headers are larger than this server accepts.",
      };
    case "HPE_CHUNK_EXTENSIONS_OVERFLOW":
      return {
        code: "payload_too_large",
        detail: "The request's chunk extensions are too large.",
      };
    case "ERR_HTTP_REQUEST_TIMEOUT":
      return { code: "request_timeout", detail: "The request took too long." };
    default:
      return { code: "bad_request", detail: "The request is not valid HTTP/1.1." };
  }
}

const answeredSockets = new WeakSet<Duplex>();

/**
 * Writes a whole HTTP/1.1 problem response straight to a socket (Node's 'clientError'
 * and 'connect' hand over no response object) and closes it. As Node's own handler
 * does, nothing is written when a response on this socket has already started, and a
 * socket is answered once (the parser repeats its error for every later chunk).
 */
function answerRaw(socket: Duplex, code: ProblemCode, detail: string): void {
  const status = statusOf(code);
  const inFlight = (socket as { _httpMessage?: { headersSent?: boolean } | null })._httpMessage;
  if (answeredSockets.has(socket)) return;
  answeredSockets.add(socket);
  if (!socket.writable || inFlight?.headersSent) {
    socket.destroy();
    return;
  }
  const answer = bareProblem(code, detail);
  const body = Buffer.from(answer.body, "utf8");
  const head = [`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? "Error"}`];
  const headers = { ...answer.headers, "Content-Length": String(body.length), Connection: "close" };
  for (const [name, value] of Object.entries(headers)) head.push(`${name}: ${value}`);
  socket.on("error", () => undefined); // a peer that already left is not our error
  socket.end(Buffer.concat([Buffer.from(`${head.join("\r\n")}\r\n\r\n`, "latin1"), body]));
  // Let the peer read the answer, then free the socket even if it never closes its side.
  const linger = setTimeout(() => socket.destroy(), 2_000);
  linger.unref();
  socket.once("close", () => clearTimeout(linger));
}
