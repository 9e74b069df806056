import type * as z from "zod";
import { adminSetRoles } from "../lib/auth/service.ts";
import { unauthorized } from "../lib/http/errors.ts";
import { httpHandler } from "../lib/http/handler.ts";
import { adminSetRolesRoute } from "../lib/routes/admin-users.ts";

type Body = z.infer<typeof adminSetRolesRoute.body>;
type Params = z.infer<typeof adminSetRolesRoute.params>;

export const handler = httpHandler<Body, unknown, Params>(adminSetRolesRoute, async (req) => {
  const principal = req.principal;
  if (!principal) throw unauthorized();
  const user = await adminSetRoles({ ...req, principal }, req.params.userId, req.body.roles);
  return { status: 200, body: user };
});
