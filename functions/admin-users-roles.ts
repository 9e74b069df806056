import { requestRoles } from "../lib/auth/approvals.ts";
import { approvalDeps } from "../lib/aws/approvals.ts";
import { ctxOf } from "../lib/context.ts";
import { httpHandler } from "../lib/http/handler.ts";
import { adminSetRolesRoute } from "../lib/routes/admin-users.ts";

const deps = approvalDeps();

// 200 with the user, or 202 with the approval a grant of admin or auditor becomes.
export const handler = httpHandler(adminSetRolesRoute, (req) =>
  requestRoles(ctxOf(req), { ...req.params, ...req.body }, deps),
);
