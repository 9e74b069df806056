import { adminListUsers } from "../lib/auth/service.ts";
import { identityDeps } from "../lib/aws/identity.ts";
import { ctxOf } from "../lib/context.ts";
import { httpHandler } from "../lib/http/handler.ts";
import { adminListUsersRoute } from "../lib/routes/admin-users.ts";

const deps = identityDeps();

export const handler = httpHandler(adminListUsersRoute, async (req) => ({
  status: 200,
  body: await adminListUsers(ctxOf(req), req.query, deps),
}));
