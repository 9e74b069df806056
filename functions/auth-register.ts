import { register } from "../lib/auth/service.ts";
import { identityDeps } from "../lib/aws/identity.ts";
import { ctxOf } from "../lib/context.ts";
import { httpHandler } from "../lib/http/handler.ts";
import { registerRoute } from "../lib/routes/auth.ts";

const deps = identityDeps();

export const handler = httpHandler(registerRoute, async (req) => ({
  status: 201,
  body: await register(ctxOf(req), req.body, deps),
}));
