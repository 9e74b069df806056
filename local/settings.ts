import { resolve } from "node:path";
import * as z from "zod";

const bool = z
  .enum(["0", "1", "true", "false", ""])
  .default("0")
  .transform((v) => v === "1" || v === "true");

/**
 * Settings of the local stack (`npm start`), parsed once with zod. The handlers'
 * own settings (lib/config.ts) are derived from these and passed on as env vars.
 */
export const localSettingsSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  MICROPAY_HOST: z.string().default("127.0.0.1"),
  MICROPAY_IN_MEMORY: bool,
  MICROPAY_DATA_DIR: z.string().default(".local"),
  MICROPAY_TABLE_NAME: z.string().min(3).default("micropay"),
  MICROPAY_ADMIN_EMAIL: z.email().optional(),
  MICROPAY_ADMIN_PASSWORD: z.string().min(12).optional(),
  /** The seeded admin's TOTP secret (base32); else one is generated into admin-totp.txt. */
  MICROPAY_ADMIN_TOTP_SECRET: z
    .string()
    .regex(/^[A-Z2-7]{16,}=*$/, "a base32 TOTP secret")
    .optional(),
  MICROPAY_THROTTLE_RATE: z.coerce.number().int().min(0).default(100),
  MICROPAY_THROTTLE_BURST: z.coerce.number().int().min(0).default(200),
  /** The WAF's per-API-key rate rule, mirrored: requests per key per window (0: off). */
  MICROPAY_API_KEY_RATE_LIMIT: z.coerce.number().int().min(0).default(1000),
  MICROPAY_API_KEY_RATE_WINDOW_SECONDS: z.coerce.number().int().min(1).max(600).default(300),
  MICROPAY_AUDIT_LOG: z.string().optional(),
  /** `1`: run every function from its bundle in a synthesized cdk.out (local/artifacts.ts). */
  MICROPAY_ARTIFACTS: bool,
  /** Artifacts mode: use this cloud assembly instead of synthesizing one. */
  MICROPAY_ARTIFACTS_CDK_OUT: z.string().min(1).optional(),
  /**
   * `1`: the handlers' DynamoDB client runs through the contention model
   * (lib/store/contention-model.ts: DynamoDB's transaction conflicts and per-item
   * throttling, which DynamoDB Local lacks). Tests and the bench only; not with artifacts.
   */
  MICROPAY_CONTENTION_MODEL: bool,
  /** The model's longest hold of a transaction's items (about an AWS transaction's duration). */
  MICROPAY_CONTENTION_HOLD_MS: z.coerce.number().int().min(1).max(10_000).default(10),
});

export type LocalSettings = z.infer<typeof localSettingsSchema> & {
  readonly dataDir: string;
  readonly auditLog: string;
  readonly stackFile: string;
};

export function parseLocalSettings(env: NodeJS.ProcessEnv): LocalSettings {
  const parsed = localSettingsSchema.safeParse(env);
  if (!parsed.success) {
    const detail = parsed.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`).join("\n");
    throw new Error(`Invalid local settings:\n${detail}`);
  }
  const s = parsed.data;
  const dataDir = resolve(s.MICROPAY_DATA_DIR);
  return {
    ...s,
    dataDir,
    auditLog: resolve(s.MICROPAY_AUDIT_LOG ?? `${dataDir}/audit.log`),
    stackFile: resolve(dataDir, "stack.json"),
  };
}
