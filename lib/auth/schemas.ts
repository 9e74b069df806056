import * as z from "zod";
import { ROLES } from "../routes/types.ts";
import { newPasswordSchema, presentedPasswordSchema } from "./passwords.ts";

/**
 * Request and response schemas of the identity routes. Request objects are strict:
 * an unknown member (say `roles` on registration) is a 400, never ignored.
 */
const email = z.email().max(254).meta({ example: "ada@example.com" });
const userId = z.string().regex(/^usr_[0-9A-HJKMNP-TV-Z]{26}$/);
const role = z.enum(ROLES);

export const registerBody = z.strictObject({
  email,
  password: newPasswordSchema,
  currency: z
    .string()
    .regex(/^[A-Z]{3}$/)
    .optional()
    .meta({ description: "ISO 4217 code from the allow-list; default from configuration." }),
});

export const loginBody = z.strictObject({ email, password: presentedPasswordSchema });

export const refreshTokenString = z
  .string()
  .min(1)
  .max(256)
  .meta({ description: "The opaque refresh token from login or refresh." });
export const refreshBody = z.strictObject({ refreshToken: refreshTokenString });

export const userView = z.object({
  id: userId,
  email: z.string(),
  roles: z.array(role),
  createdAt: z.iso.datetime(),
});

export const adminUserView = userView.extend({ updatedAt: z.iso.datetime() });

export const tokenPair = z.object({
  accessToken: z.string(),
  tokenType: z.literal("Bearer"),
  expiresIn: z.number().int(),
  refreshToken: z.string(),
});

export const jwks = z.object({
  keys: z.array(
    z.object({
      kty: z.literal("EC"),
      crv: z.literal("P-256"),
      x: z.string(),
      y: z.string(),
      kid: z.string(),
      alg: z.literal("ES256"),
      use: z.literal("sig"),
    }),
  ),
});

export const listUsersQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().min(1).max(1024).optional(),
});

export const userPage = z.object({
  data: z.array(adminUserView),
  hasMore: z.boolean(),
  nextCursor: z.string().nullable(),
});

export const userIdParams = z.strictObject({ userId });

export const setRolesBody = z.strictObject({
  roles: z
    .array(role)
    .min(1)
    .max(ROLES.length)
    .refine((r) => new Set(r).size === r.length, { message: "roles must not repeat" }),
});

export const mfaChallenge = z.object({
  mfaRequired: z.literal(true),
  mfaToken: z.string().meta({ description: "Single use, short-lived; for POST /v1/auth/mfa." }),
  methods: z.array(z.enum(["totp", "recovery_code"])),
});

/** A password login: the token pair, or (a user with MFA) the second step's ticket. */
export const loginAnswer = z.union([tokenPair, mfaChallenge]);

const otpCode = z
  .string()
  .regex(/^\d{6}$/)
  .meta({ description: "The current 6-digit TOTP code.", example: "123456" });

export const mfaLoginBody = z.strictObject({
  mfaToken: z.string().min(1).max(128),
  code: z
    .string()
    .min(6)
    .max(32)
    .meta({ description: "A 6-digit TOTP code or an unused recovery code (xxxxx-xxxxx)." }),
});

export const totpCodeBody = z.strictObject({ code: otpCode });

export const totpEnrolment = z.object({
  secret: z.string().meta({ description: "Base32 TOTP secret (RFC 6238: SHA-1, 6 digits, 30 s)." }),
  otpauthUri: z.string(),
});

export const recoveryCodesView = z.object({
  recoveryCodes: z.array(z.string()).length(10),
});

// ------------------------------------------------------------------ dual control

const approvalId = z
  .string()
  .regex(/^apr_[0-9A-HJKMNP-TV-Z]{26}$/)
  .meta({ example: "apr_01J9Z8T6A1B2C3D4E5F6G7H8JK" });
const approvalStatus = z.enum(["pending", "approved", "rejected", "expired"]);

/** The 202 of a deposit or role grant that dual control turned into an approval. */
export const pendingApproval = z.object({
  approvalId,
  status: z.literal("pending_approval"),
  expiresAt: z.iso.datetime(),
});

export const approvalParams = z.strictObject({ approvalId });

export const approvalsQuery = z.strictObject({
  status: approvalStatus.optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().min(1).max(1024).optional(),
});

const approvalPayload = z.discriminatedUnion("kind", [
  z.object({
    kind: z.literal("deposit"),
    accountId: z.string(),
    amount: z.number().int(),
    currency: z.string(),
    reference: z.string(),
  }),
  z.object({ kind: z.literal("role_grant"), userId, roles: z.array(role) }),
]);

export const approvalView = z.object({
  id: approvalId,
  kind: z.enum(["deposit", "role_grant"]),
  status: approvalStatus,
  payload: approvalPayload.meta({ description: "The request the approval carries out." }),
  requestedBy: z.string(),
  createdAt: z.iso.datetime(),
  expiresAt: z.iso.datetime(),
  decidedBy: z.string().nullable(),
  decidedAt: z.iso.datetime().nullable(),
});

export const approvalPage = z.object({
  data: z.array(approvalView),
  hasMore: z.boolean(),
  nextCursor: z.string().nullable(),
});
