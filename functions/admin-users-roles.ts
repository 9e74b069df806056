import { adminSetRoles } from "../lib/auth/service.ts";
import { httpHandler } from "../lib/http/handler.ts";
import { adminSetRolesRoute } from "../lib/routes/admin-users.ts";

export const handler = httpHandler(adminSetRolesRoute, async (req) => {
  const principal = req.principal;
  const user = await adminSetRoles({ ...req, principal }, req.params.userId, req.body.roles);
  return { status: 200, body: user };
});
