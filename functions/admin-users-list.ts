import type * as z from "zod";
import { adminListUsers } from "../lib/auth/service.ts";
import { unauthorized } from "../lib/http/errors.ts";
import { httpHandler } from "../lib/http/handler.ts";
import { adminListUsersRoute } from "../lib/routes/admin-users.ts";

type Query = z.infer<typeof adminListUsersRoute.query>;

export const handler = httpHandler<unknown, Query>(adminListUsersRoute, async (req) => {
  if (!req.principal) throw unauthorized();
  return { status: 200, body: await adminListUsers(req.principal, req.query) };
});
