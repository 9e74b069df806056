import { login } from "../lib/auth/service.ts";
import { httpHandler } from "../lib/http/handler.ts";
import { loginRoute } from "../lib/routes/auth.ts";

export const handler = httpHandler(loginRoute, async (req) => ({
  status: 200,
  body: await login(req, req.body),
}));
