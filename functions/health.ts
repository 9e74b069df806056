import { httpHandler } from "../lib/http/handler.ts";
import { serviceUnavailable } from "../lib/problems.ts";
import { healthRoute } from "../lib/routes/system.ts";
import { tableIsHealthy } from "../lib/store/health.ts";

export const handler = httpHandler(healthRoute, async () => {
  if (!(await tableIsHealthy())) throw serviceUnavailable();
  return { status: 200, body: { status: "ok" } };
});
