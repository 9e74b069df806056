import { refresh } from "../lib/auth/service.ts";
import { identityDeps } from "../lib/aws/identity.ts";
import { ctxOf } from "../lib/context.ts";
import { httpHandler } from "../lib/http/handler.ts";
import { refreshRoute } from "../lib/routes/auth.ts";

const deps = identityDeps();

export const handler = httpHandler(refreshRoute, async (req) => ({
  status: 200,
  body: await refresh(ctxOf(req), req.body, deps),
}));
