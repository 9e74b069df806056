import { listApprovals } from "../lib/auth/approvals.ts";
import { approvalDeps } from "../lib/aws/approvals.ts";
import { ctxOf } from "../lib/context.ts";
import { viewHandler } from "../lib/http/handler.ts";
import { approvalsListRoute } from "../lib/routes/approvals.ts";

const deps = approvalDeps();

export const handler = viewHandler(approvalsListRoute, (req) =>
  listApprovals(ctxOf(req), req.query, deps),
);
