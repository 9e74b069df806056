import { adminUserRoutes } from "./admin-users.ts";
import { apiKeyRoutes } from "./api-keys.ts";
import { approvalRoutes } from "./approvals.ts";
import { authRoutes } from "./auth.ts";
import { docsRoutes } from "./docs.ts";
import { eventRoutes } from "./events.ts";
import { ledgerRoutes } from "./ledger.ts";
import { mfaRoutes } from "./mfa.ts";
import { systemRoutes } from "./system.ts";
import type { RouteDef } from "./types.ts";
import { webhookRoutes } from "./webhooks.ts";

/**
 * The single route table. Each domain keeps its rows in its own module; this list
 * is what the local gateway, the CDK stack and the OpenAPI generator read.
 */
export const routes: readonly RouteDef[] = [
  ...systemRoutes,
  ...docsRoutes,
  ...authRoutes,
  ...mfaRoutes,
  ...adminUserRoutes,
  ...approvalRoutes,
  ...ledgerRoutes,
  ...apiKeyRoutes,
  ...eventRoutes,
  ...webhookRoutes,
];

export type { Principal, Role, RouteDef, Scope } from "./types.ts";
