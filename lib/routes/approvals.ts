import {
  adminUserView,
  approvalPage,
  approvalParams,
  approvalsQuery,
  approvalView,
} from "../auth/schemas.ts";
import { transferView } from "../ledger/schemas.ts";
import { defineRoute } from "./types.ts";

/**
 * Dual control (API.md "Privileged access: MFA, step-up and dual control";
 * lib/auth/approvals.ts): the approvals that large deposits and grants of admin or
 * auditor become, and the second admin's decision on them.
 */
export const approvalsListRoute = defineRoute({
  id: "admin-approvals-list",
  method: "GET",
  path: "/v1/admin/approvals",
  summary: "Approvals (dual control), newest first; ?status=pending|approved|rejected|expired",
  tags: ["Admin"],
  auth: { roles: ["admin"] },
  query: approvalsQuery,
  response: approvalPage,
  successStatus: 200,
  errorCodes: ["service_unavailable"],
  tableAccess: "read",
  table: { actions: [], query: ["table"] },
  usesSigningKey: true,
  example: { query: { status: "pending", limit: "20" } },
});

export const approvalsApproveRoute = defineRoute({
  id: "admin-approvals-approve",
  method: "POST",
  path: "/v1/admin/approvals/{approvalId}/approve",
  summary: "Approve and carry out a pending approval (an admin other than its requester)",
  tags: ["Admin"],
  auth: { roles: ["admin"] },
  stepUp: true,
  params: approvalParams,
  response: approvalView.extend({ result: transferView.or(adminUserView) }),
  successStatus: 200,
  errorCodes: [
    "not_found",
    "same_approver",
    "self_dealing",
    "approval_expired",
    "approval_not_pending",
    "account_frozen",
    "last_admin",
    "concurrent_update",
    "service_unavailable",
  ],
  tableAccess: "write",
  table: { actions: ["GetItem", "PutItem", "UpdateItem"] },
  usesSigningKey: true,
  // No such approval on a fresh stack: the contract test replays it as a documented 404.
  example: { params: { approvalId: "apr_01J9Z8T6A1B2C3D4E5F6G7H8JK" } },
});

export const approvalsRejectRoute = defineRoute({
  id: "admin-approvals-reject",
  method: "POST",
  path: "/v1/admin/approvals/{approvalId}/reject",
  summary: "Reject a pending approval (any admin; the requester withdraws its own)",
  tags: ["Admin"],
  auth: { roles: ["admin"] },
  stepUp: true,
  params: approvalParams,
  response: approvalView,
  successStatus: 200,
  errorCodes: ["not_found", "approval_expired", "approval_not_pending", "service_unavailable"],
  tableAccess: "write",
  table: { actions: ["GetItem", "PutItem", "UpdateItem"] },
  usesSigningKey: true,
  example: { params: { approvalId: "apr_01J9Z8T6A1B2C3D4E5F6G7H8JK" } },
});

export const approvalRoutes = [
  approvalsListRoute,
  approvalsApproveRoute,
  approvalsRejectRoute,
] as const;
