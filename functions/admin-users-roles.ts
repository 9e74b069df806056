import { adminSetRoles } from "../lib/auth/service.ts";
import { identityDeps } from "../lib/aws/identity.ts";
import { ctxOf } from "../lib/context.ts";
import { httpHandler } from "../lib/http/handler.ts";
import { adminSetRolesRoute } from "../lib/routes/admin-users.ts";

const deps = identityDeps();

export const handler = httpHandler(adminSetRolesRoute, async (req) => ({
  status: 200,
  body: await adminSetRoles(ctxOf(req), { ...req.params, ...req.body }, deps),
}));
