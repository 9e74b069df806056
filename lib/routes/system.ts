import * as z from "zod";
import { defineRoute } from "./types.ts";

export const healthRoute = defineRoute({
  id: "health",
  method: "GET",
  path: "/v1/health",
  summary: "Liveness and table reachability",
  tags: ["System"],
  auth: "none",
  response: z.object({ status: z.literal("ok") }),
  successStatus: 200,
  errorCodes: ["service_unavailable"],
  tableAccess: "read",
  table: { actions: ["GetItem"] },
  usesSigningKey: false,
});

export const systemRoutes = [healthRoute] as const;
