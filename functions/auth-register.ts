import { register } from "../lib/auth/service.ts";
import { httpHandler } from "../lib/http/handler.ts";
import { registerRoute } from "../lib/routes/auth.ts";

export const handler = httpHandler(registerRoute, async (req) => ({
  status: 201,
  body: await register(req, req.body),
}));
