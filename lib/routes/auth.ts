import * as z from "zod";
import {
  jwks,
  loginAnswer,
  loginBody,
  refreshBody,
  registerBody,
  tokenPair,
  userView,
} from "../auth/schemas.ts";
import { accountView } from "../ledger/schemas.ts";
import { defineRoute, ROLES } from "./types.ts";

/**
 * Identity routes (API.md "Authentication"). Each `/v1/auth/*` method has its own
 * edge throttle: one bucket shared by every client, so it is a capacity guard sized
 * far above honest load (README "Auth capacity"), never a per-client limit (that is
 * the WAF's per-IP rule and the per-account lockout). Password routes are bounded by
 * bcrypt: 200/s is ~150 concurrent executions at ~0.7 s per cost-12 hash on 1,024 MB.
 * Session routes are a few DynamoDB calls: 400/s carries 360,000 sessions refreshing
 * every 15 minutes.
 */
const PASSWORD_THROTTLE = { rate: 200, burst: 400 } as const;
const SESSION_THROTTLE = { rate: 400, burst: 800 } as const;

export const registerRoute = defineRoute({
  id: "auth-register",
  method: "POST",
  path: "/v1/auth/register",
  summary: "Create a customer and its first account",
  tags: ["Authentication"],
  auth: "none",
  body: registerBody,
  response: z.object({ user: userView, account: accountView }),
  successStatus: 201,
  errorCodes: ["email_taken"],
  tableAccess: "write",
  table: { actions: ["GetItem", "PutItem"] },
  usesSigningKey: false,
  throttle: PASSWORD_THROTTLE,
  example: { body: { email: "ada@example.com", password: "correct horse battery" } },
});

export const loginRoute = defineRoute({
  id: "auth-login",
  method: "POST",
  path: "/v1/auth/login",
  summary: "Exchange email and password for an access and a refresh token",
  tags: ["Authentication"],
  auth: "none",
  body: loginBody,
  response: loginAnswer,
  successStatus: 200,
  errorCodes: ["invalid_credentials"],
  tableAccess: "write",
  table: { actions: ["GetItem", "PutItem", "UpdateItem"] },
  usesSigningKey: true,
  throttle: PASSWORD_THROTTLE,
  example: { body: { email: "ada@example.com", password: "correct horse battery" } },
});

export const refreshRoute = defineRoute({
  id: "auth-refresh",
  method: "POST",
  path: "/v1/auth/refresh",
  summary: "Rotate a refresh token into a new token pair",
  tags: ["Authentication"],
  auth: "none",
  body: refreshBody,
  response: tokenPair,
  successStatus: 200,
  errorCodes: ["invalid_refresh_token"],
  tableAccess: "write",
  table: { actions: ["GetItem", "PutItem", "UpdateItem", "ConditionCheckItem"] },
  usesSigningKey: true,
  throttle: SESSION_THROTTLE,
  example: { body: { refreshToken: "rt_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" } },
});

export const logoutRoute = defineRoute({
  id: "auth-logout",
  method: "POST",
  path: "/v1/auth/logout",
  summary: "Revoke the refresh-token family of a session",
  tags: ["Authentication"],
  auth: { roles: ROLES },
  mfa: "exempt",
  body: refreshBody,
  successStatus: 204,
  tableAccess: "write",
  table: { actions: ["GetItem", "PutItem", "UpdateItem"] },
  usesSigningKey: true,
  throttle: SESSION_THROTTLE,
  example: { body: { refreshToken: "rt_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" } },
});

export const meRoute = defineRoute({
  id: "me",
  method: "GET",
  path: "/v1/me",
  summary: "The caller's profile",
  tags: ["Authentication"],
  auth: { roles: ROLES },
  mfa: "exempt",
  response: userView,
  successStatus: 200,
  tableAccess: "read",
  table: { actions: ["GetItem"] },
  usesSigningKey: true,
});

export const jwksRoute = defineRoute({
  id: "jwks",
  method: "GET",
  path: "/.well-known/jwks.json",
  summary: "Public keys that verify access tokens (RFC 7517 JWK Set)",
  tags: ["Authentication"],
  auth: "none",
  response: jwks,
  successStatus: 200,
  tableAccess: "none",
  usesSigningKey: true,
});

export const authRoutes = [
  registerRoute,
  loginRoute,
  refreshRoute,
  logoutRoute,
  meRoute,
  jwksRoute,
] as const;
