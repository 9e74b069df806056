import * as z from "zod";
import { issueAccessToken } from "../../lib/auth/access-token.ts";
import { httpHandler } from "../../lib/http/handler.ts";
import type { HttpRequest, HttpResult } from "../../lib/http/types.ts";
import { newId } from "../../lib/ids.ts";
import { defineRoute } from "../../lib/routes/types.ts";
import { apiEvent, lambdaContext } from "../../test/support/events.ts";

/**
 * In-process cost of the full Middy chain (request id, security headers, CORS,
 * problem+json, ES256 JWT verification, role check, body and query validation)
 * over calling the same implementation bare, in microseconds per request.
 */
export async function middlewareOverhead(iterations: number) {
  const route = defineRoute({
    id: "bench-overhead",
    method: "GET",
    path: "/v1/bench",
    summary: "bench",
    tags: ["Bench"],
    auth: { roles: ["customer"] },
    query: z.strictObject({ limit: z.coerce.number().int().min(1).max(100).optional() }),
    successStatus: 200,
    tableAccess: "none",
    usesSigningKey: true,
  });
  const impl = async (_req: HttpRequest): Promise<HttpResult> => ({
    status: 200,
    body: { ok: true },
  });
  const handler = httpHandler(route, impl);
  const { token } = await issueAccessToken(newId("usr"), ["customer"]);
  const event = apiEvent({
    method: "GET",
    path: "/v1/bench",
    headers: { Authorization: `Bearer ${token}` },
    query: { limit: "20" },
  });
  const ctx = lambdaContext();
  const warm = await handler(event, ctx);
  if (warm.statusCode !== 200) throw new Error(`chain answered ${warm.statusCode}: ${warm.body}`);
  for (let i = 0; i < 200; i++) await handler(event, ctx);

  let t0 = performance.now();
  for (let i = 0; i < iterations; i++) await handler(event, ctx);
  const chainMicros = ((performance.now() - t0) * 1000) / iterations;

  const req = {
    route,
    body: undefined,
    query: { limit: 20 },
    params: {},
  } as unknown as HttpRequest;
  t0 = performance.now();
  for (let i = 0; i < iterations; i++) {
    const r = await impl(req);
    JSON.stringify(r.body);
  }
  const bareMicros = ((performance.now() - t0) * 1000) / iterations;
  return { chainMicros, bareMicros, overheadMicros: chainMicros - bareMicros };
}
