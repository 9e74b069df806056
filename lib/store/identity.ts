import type { IdentityStore } from "../auth/port.ts";
import {
  acceptTotpStep,
  disableTotp,
  enableTotp,
  putMfaChallenge,
  setPendingTotp,
  takeMfaChallenge,
  useRecoveryCode,
} from "./mfa.ts";
import { putSecurityEvent } from "./security-events.ts";
import {
  getFamily,
  getRefreshToken,
  revokeFamily,
  rotateRefreshToken,
  startLoginSession,
} from "./sessions.ts";
import {
  createUser,
  getUser,
  getUserForLogin,
  getUserIdByEmail,
  listUsers,
  lockAccount,
  loginRoundTripForNobody,
  recordLoginFailure,
  releaseLoginAttempt,
  replaceRoles,
  reserveLoginAttempt,
} from "./users.ts";

/**
 * The DynamoDB identity store: the port of lib/auth/port.ts over users.ts (users,
 * roles, admin counter, lockout), sessions.ts (refresh families and tokens) and
 * security-events.ts (standalone audit events) and mfa.ts (TOTP, recovery codes,
 * login challenges).
 */
export const dynamoIdentityStore: IdentityStore = {
  createUser,
  getUser,
  getUserIdByEmail,
  getUserForLogin,
  loginRoundTripForNobody,
  listUsers,
  replaceRoles,
  reserveLoginAttempt,
  recordLoginFailure,
  releaseLoginAttempt,
  lockAccount,
  startLoginSession,
  getRefreshToken,
  getFamily,
  rotateRefreshToken,
  revokeFamily,
  setPendingTotp,
  enableTotp,
  acceptTotpStep,
  useRecoveryCode,
  disableTotp,
  putMfaChallenge,
  takeMfaChallenge,
  recordSecurityEvent: (event) => putSecurityEvent(event),
};
