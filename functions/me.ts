import { me } from "../lib/auth/service.ts";
import { identityDeps } from "../lib/aws/identity.ts";
import { ctxOf } from "../lib/context.ts";
import { httpHandler } from "../lib/http/handler.ts";
import { meRoute } from "../lib/routes/auth.ts";

const deps = identityDeps();

export const handler = httpHandler(meRoute, async (req) => ({
  status: 200,
  body: await me(ctxOf(req), req.body, deps),
}));
