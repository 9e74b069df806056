import { logout } from "../lib/auth/service.ts";
import { identityDeps } from "../lib/aws/identity.ts";
import { ctxOf } from "../lib/context.ts";
import { httpHandler } from "../lib/http/handler.ts";
import { logoutRoute } from "../lib/routes/auth.ts";

const deps = identityDeps();

export const handler = httpHandler(logoutRoute, async (req) => {
  await logout(ctxOf(req), req.body, deps);
  return { status: 204 };
});
