import {
  adminUserView,
  listUsersQuery,
  pendingApproval,
  setRolesBody,
  userIdParams,
  userPage,
} from "../auth/schemas.ts";
import { defineRoute } from "./types.ts";

/** Admin user routes (API.md "Accounts and ledger" table, last two rows). */
export const adminListUsersRoute = defineRoute({
  id: "admin-users-list",
  method: "GET",
  path: "/v1/admin/users",
  summary: "All users, newest first (never a password hash or lockout data)",
  tags: ["Admin"],
  auth: { roles: ["admin", "auditor"] },
  query: listUsersQuery,
  response: userPage,
  successStatus: 200,
  tableAccess: "read",
  table: { actions: [], query: ["gsi1"] },
  usesSigningKey: true,
  example: { query: { limit: "20" } },
});

export const adminSetRolesRoute = defineRoute({
  id: "admin-users-roles",
  method: "PUT",
  path: "/v1/admin/users/{userId}/roles",
  summary:
    "Replace a user's roles (effective at the user's next refresh); granting admin or auditor answers 202: an approval",
  tags: ["Admin"],
  auth: { roles: ["admin"] },
  stepUp: true,
  params: userIdParams,
  body: setRolesBody,
  response: adminUserView,
  successStatus: 200,
  accepted: pendingApproval,
  errorCodes: ["last_admin", "not_found"],
  tableAccess: "write",
  table: { actions: ["GetItem", "PutItem", "UpdateItem"] },
  usesSigningKey: true,
  example: { body: { roles: ["customer", "merchant"] } },
});

export const adminUserRoutes = [adminListUsersRoute, adminSetRolesRoute] as const;
