import type * as z from "zod";
import { logout } from "../lib/auth/service.ts";
import { unauthorized } from "../lib/http/errors.ts";
import { httpHandler } from "../lib/http/handler.ts";
import { logoutRoute } from "../lib/routes/auth.ts";

export const handler = httpHandler<z.infer<typeof logoutRoute.body>>(logoutRoute, async (req) => {
  const principal = req.principal;
  if (!principal) throw unauthorized();
  await logout({ ...req, principal }, req.body.refreshToken);
  return { status: 204 };
});
