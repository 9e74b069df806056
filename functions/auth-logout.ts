import { logout } from "../lib/auth/service.ts";
import { httpHandler } from "../lib/http/handler.ts";
import { logoutRoute } from "../lib/routes/auth.ts";

export const handler = httpHandler(logoutRoute, async (req) => {
  const principal = req.principal;
  await logout({ ...req, principal }, req.body.refreshToken);
  return { status: 204 };
});
