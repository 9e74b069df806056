import { adminListUsers } from "../lib/auth/service.ts";
import { httpHandler } from "../lib/http/handler.ts";
import { adminListUsersRoute } from "../lib/routes/admin-users.ts";

export const handler = httpHandler(adminListUsersRoute, async (req) => {
  return { status: 200, body: await adminListUsers(req.principal, req.query) };
});
