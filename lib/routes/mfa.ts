import {
  mfaLoginBody,
  recoveryCodesView,
  tokenPair,
  totpCodeBody,
  totpEnrolment,
} from "../auth/schemas.ts";
import { defineRoute, ROLES } from "./types.ts";

/**
 * Multi-factor authentication routes (API.md "Privileged access: MFA, step-up and dual
 * control"). The /v1/me/mfa routes are `mfa: "exempt"`: an admin whose token has no
 * second factor must still be able to enrol one.
 */
const SESSION_THROTTLE = { rate: 400, burst: 800 } as const;

export const mfaLoginRoute = defineRoute({
  id: "auth-mfa",
  method: "POST",
  path: "/v1/auth/mfa",
  summary: "Second login step: the mfaToken and a TOTP or recovery code for a token pair",
  tags: ["Authentication"],
  auth: "none",
  body: mfaLoginBody,
  response: tokenPair,
  successStatus: 200,
  errorCodes: ["invalid_mfa_token", "invalid_credentials"],
  tableAccess: "write",
  table: { actions: ["GetItem", "PutItem", "UpdateItem", "DeleteItem"] },
  usesSigningKey: true,
  usesSecretBox: true,
  throttle: SESSION_THROTTLE,
  example: {
    body: { mfaToken: "mfa_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", code: "123456" },
  },
});

export const totpEnrolRoute = defineRoute({
  id: "mfa-totp-enrol",
  method: "POST",
  path: "/v1/me/mfa/totp",
  summary: "Start TOTP enrolment: a new secret, pending until verified",
  tags: ["Authentication"],
  auth: { roles: ROLES },
  mfa: "exempt",
  response: totpEnrolment,
  successStatus: 201,
  errorCodes: ["mfa_already_enabled"],
  tableAccess: "write",
  table: { actions: ["GetItem", "PutItem", "UpdateItem"] },
  usesSigningKey: true,
  usesSecretBox: true,
});

export const totpVerifyRoute = defineRoute({
  id: "mfa-totp-verify",
  method: "POST",
  path: "/v1/me/mfa/totp/verify",
  summary: "Verify the pending TOTP secret with a code: MFA on, ten recovery codes shown once",
  tags: ["Authentication"],
  auth: { roles: ROLES },
  mfa: "exempt",
  body: totpCodeBody,
  response: recoveryCodesView,
  successStatus: 200,
  errorCodes: ["mfa_already_enabled", "mfa_not_pending", "concurrent_update"],
  tableAccess: "write",
  table: { actions: ["GetItem", "PutItem", "UpdateItem"] },
  usesSigningKey: true,
  usesSecretBox: true,
  example: { body: { code: "123456" } },
});

export const totpDisableRoute = defineRoute({
  id: "mfa-totp-disable",
  method: "POST",
  path: "/v1/me/mfa/totp/disable",
  summary: "Turn TOTP off with a current code (recovery codes go with it)",
  tags: ["Authentication"],
  auth: { roles: ROLES },
  mfa: "exempt",
  body: totpCodeBody,
  successStatus: 204,
  errorCodes: ["mfa_not_pending"],
  tableAccess: "write",
  table: { actions: ["GetItem", "PutItem", "UpdateItem"] },
  usesSigningKey: true,
  usesSecretBox: true,
  example: { body: { code: "123456" } },
});

export const mfaRoutes = [
  mfaLoginRoute,
  totpEnrolRoute,
  totpVerifyRoute,
  totpDisableRoute,
] as const;
