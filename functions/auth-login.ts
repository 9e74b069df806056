import type * as z from "zod";
import { login } from "../lib/auth/service.ts";
import { httpHandler } from "../lib/http/handler.ts";
import { loginRoute } from "../lib/routes/auth.ts";

export const handler = httpHandler<z.infer<typeof loginRoute.body>>(loginRoute, async (req) => ({
  status: 200,
  body: await login(req, req.body),
}));
