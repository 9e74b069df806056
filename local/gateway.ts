import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { ApiError } from "../lib/http/errors.ts";
import { fallbackHandler } from "../lib/http/fallback.ts";
import type { ApiEvent, ApiResult, Context } from "../lib/http/types.ts";
import type { RouteDef } from "../lib/routes/types.ts";
import { TokenBucket } from "./throttle.ts";

type LambdaHandler = (event: ApiEvent, context: Context) => Promise<ApiResult>;

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
  readonly functionsDir: string;
  readonly host?: string;
  readonly port: number;
  /** Stage throttle (requests/s and burst); 0 disables. Routes may declare stricter ones. */
  readonly throttleRate: number;
  readonly throttleBurst: number;
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
    const mod = (await import(pathToFileURL(join(opts.functionsDir, `${route.id}.ts`)).href)) as {
      handler: LambdaHandler;
    };
    const paramNames: string[] = [];
    const pattern = route.path.replace(/\{([A-Za-z0-9_]+)\}/g, (_m, name: string) => {
      paramNames.push(name);
      return "([^/]+)";
    });
    compiled.push({ route, regex: new RegExp(`^${pattern}$`), paramNames, handler: mod.handler });
  }
  const fallback = fallbackHandler();
  const stageBucket = new TokenBucket(opts.throttleRate, opts.throttleBurst);
  const routeBuckets = new Map<string, TokenBucket>();
  if (opts.throttleRate > 0) {
    for (const { route } of compiled) {
      if (route.throttle) {
        routeBuckets.set(route.id, new TokenBucket(route.throttle.rate, route.throttle.burst));
      }
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500, { "Content-Type": "application/problem+json" });
      res.end();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://localhost");
    const method = (req.method ?? "GET").toUpperCase();
    const { body, tooLarge } = await readBody(req);
    const event = toEvent(req, url, method, body);
    const context = lambdaContext();

    const answerWith = async (error?: ApiError) => {
      (context as unknown as { fallbackError?: ApiError }).fallbackError = error;
      write(res, await fallback(event, context));
    };

    const matches = compiled
      .map((c) => ({ c, m: c.regex.exec(url.pathname) }))
      .filter((x): x is { c: CompiledRoute; m: RegExpExecArray } => x.m !== null);
    if (matches.length === 0) {
      return answerWith(new ApiError(404, "not_found", { detail: "No such route." }));
    }
    const hit = matches.find((x) => x.c.route.method === method);
    if (!hit) {
      if (method === "OPTIONS") return answerWith(); // CORS preflight
      const allow = [...new Set(matches.map((x) => x.c.route.method))].join(", ");
      return answerWith(
        new ApiError(405, "method_not_allowed", {
          detail: `Use ${allow} on this path.`,
          headers: { Allow: allow },
        }),
      );
    }
    if (tooLarge) {
      return answerWith(
        new ApiError(413, "payload_too_large", { detail: "The request body is too large." }),
      );
    }
    const bucket = routeBuckets.get(hit.c.route.id);
    if (!stageBucket.take() || (bucket && !bucket.take())) {
      return answerWith(
        new ApiError(429, "rate_limited", {
          detail: "Too many requests; slow down.",
          headers: { "Retry-After": "1" },
        }),
      );
    }
    const params: Record<string, string> = {};
    hit.c.paramNames.forEach((name, i) => {
      params[name] = decodeURIComponent(hit.m[i + 1] ?? "");
    });
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

function toEvent(req: IncomingMessage, url: URL, method: string, body: Buffer): ApiEvent {
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i] ?? "";
    const value = req.rawHeaders[i + 1] ?? "";
    headers[name] = value;
    const list = multiValueHeaders[name] ?? [];
    list.push(value);
    multiValueHeaders[name] = list;
  }
  const query: Record<string, string> = {};
  const multiQuery: Record<string, string[]> = {};
  for (const [k, v] of url.searchParams) {
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
    resource: url.pathname,
    path: url.pathname,
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
      path: `/local${url.pathname}`,
      stage: "local",
      requestId,
      requestTimeEpoch: Date.now(),
      resourceId: "local",
      resourcePath: url.pathname,
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

function write(res: ServerResponse, result: ApiResult): void {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(result.headers ?? {})) {
    if (v !== undefined && v !== null) headers[k] = String(v);
  }
  const body = result.isBase64Encoded
    ? Buffer.from(result.body ?? "", "base64")
    : Buffer.from(result.body ?? "", "utf8");
  headers["Content-Length"] = String(body.length);
  res.writeHead(result.statusCode, headers);
  res.end(body);
}
