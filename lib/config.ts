import * as z from "zod";

/**
 * Runtime configuration, parsed once per container from the environment with zod.
 * A bad value fails the cold start with a message naming the variable, never later
 * in the middle of a request. Nothing here is a secret: the signing key is fetched
 * from Secrets Manager (AWS) or a key file in the ignored data folder (local).
 */
const csv = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((s) =>
      s
        .split(",")
        .map((x) => x.trim())
        .filter((x) => x.length > 0),
    );

const int = (fallback: number, min: number, max: number) =>
  z.coerce.number().int().min(min).max(max).default(fallback);

/** Most a retry schedule may span (API.md: retried for up to 3 days). */
export const WEBHOOK_RETRY_MAX_SECONDS = 3 * 24 * 3600;

/** `MICROPAY_WEBHOOK_RETRY_SCHEDULE`: positive whole seconds, comma-separated, <= 3 days in all. */
export const retrySchedule = csv("5,300,1800,7200,18000,36000,36000,36000,36000,36000,36000")
  .transform((xs) => xs.map(Number))
  .pipe(z.array(z.number().int().min(1).max(WEBHOOK_RETRY_MAX_SECONDS)).min(1).max(50))
  .refine((xs) => xs.reduce((a, b) => a + b, 0) <= WEBHOOK_RETRY_MAX_SECONDS, {
    message: "the schedule may span at most 3 days (259200 seconds)",
  });

export const configSchema = z
  .object({
    MICROPAY_TABLE_NAME: z.string().min(3).default("micropay"),
    MICROPAY_DYNAMODB_ENDPOINT: z.url().optional(),
    AWS_REGION: z.string().default("us-east-1"),
    MICROPAY_STAGE: z.string().default("local"),
    MICROPAY_CORS_ORIGINS: csv("").pipe(
      z.array(
        z
          .string()
          .regex(/^https?:\/\/[a-z0-9.-]+(:\d+)?$/i, "an origin like https://app.example.com"),
      ),
    ),
    MICROPAY_CURRENCIES: csv("USD,EUR,GBP,JPY,BHD").pipe(
      z.array(z.string().regex(/^[A-Z]{3}$/)).min(1),
    ),
    MICROPAY_DEFAULT_CURRENCY: z
      .string()
      .regex(/^[A-Z]{3}$/)
      .default("USD"),
    /** Per-payment ceiling in major units of the currency (1,000,000 by default). */
    MICROPAY_MAX_PAYMENT_MAJOR: int(1_000_000, 1, 1_000_000_000),
    MICROPAY_JWT_ISSUER: z.string().min(1).default("https://micropay.local"),
    MICROPAY_JWT_AUDIENCE: z.string().min(1).default("micropay-api"),
    MICROPAY_ACCESS_TOKEN_TTL_SECONDS: int(900, 60, 3600),
    MICROPAY_REFRESH_TOKEN_TTL_SECONDS: int(30 * 24 * 3600, 3600, 90 * 24 * 3600),
    /** Where the ES256 signing key lives: a Secrets Manager secret id, or a local file. */
    MICROPAY_SIGNING_KEY_SECRET_ID: z.string().min(1).optional(),
    MICROPAY_SIGNING_KEY_FILE: z.string().min(1).optional(),
    MICROPAY_BCRYPT_COST: int(12, 10, 15),
    /**
     * Lockout, defaults as PCI DSS v4.0 8.3.4 asks: at most 10 judged failures (inside
     * the window) lock the account for at least 30 minutes. A threshold over 10 or a
     * duration under 1800 is accepted (benchmarks use them) but is outside 8.3.4.
     */
    MICROPAY_LOCKOUT_THRESHOLD: int(10, 3, 100),
    MICROPAY_LOCKOUT_WINDOW_SECONDS: int(900, 1, 86400),
    MICROPAY_LOCKOUT_DURATION_SECONDS: int(1800, 1, 86400),
    /**
     * How long an unfinished login attempt holds one of the account's attempt slots
     * (lib/store/users.ts reserveLoginAttempt). A login that never finishes (its
     * Lambda killed mid-bcrypt) stops counting once no attempt has been reserved for
     * this long. It must exceed the longest a login can run: API Gateway gives up
     * after 29 s, the functions time out after 10 s.
     */
    MICROPAY_LOGIN_ATTEMPT_TTL_SECONDS: int(60, 30, 900),
    /** An API key's lastUsedAt is written at most once per this many seconds (per key). */
    MICROPAY_API_KEY_LAST_USED_SECONDS: int(60, 1, 3600),
    /**
     * Privileged access (API.md "Privileged access"; PCI DSS v4 8.2.8, 8.4): how long the
     * login's `mfaToken` lives; how recent `auth_time` must be for step-up routes; the
     * absolute lifetime of a refresh family (30 days; 12 hours when it carries admin or
     * auditor) and the idle limit of a privileged one (15 minutes). All accept 1 s so
     * tests exercise them without waiting.
     */
    MICROPAY_MFA_TOKEN_TTL_SECONDS: int(300, 1, 3600),
    MICROPAY_STEP_UP_SECONDS: int(900, 1, 86400),
    MICROPAY_SESSION_ABSOLUTE_SECONDS: int(30 * 24 * 3600, 1, 90 * 24 * 3600),
    MICROPAY_PRIVILEGED_SESSION_ABSOLUTE_SECONDS: int(12 * 3600, 1, 30 * 24 * 3600),
    MICROPAY_PRIVILEGED_SESSION_IDLE_SECONDS: int(900, 1, 86400),
    /**
     * Dual control (API.md "Privileged access"; PCI DSS v4 6.5.4/7.2 separation of duties):
     * a deposit of at least this many minor units, and every grant of admin or auditor,
     * waits for a second admin's approval; a pending approval expires after
     * MICROPAY_APPROVAL_TTL_SECONDS (24 hours; 1 s in tests).
     */
    MICROPAY_DUAL_CONTROL_MINOR: int(1_000_000, 1, Number.MAX_SAFE_INTEGER),
    MICROPAY_APPROVAL_TTL_SECONDS: int(24 * 3600, 1, 30 * 24 * 3600),
    /**
     * Where TOTP secrets are sealed (lib/crypto/secret-box.ts): a KMS key id (AWS: the
     * table's customer-managed key), or a 32-byte key file in the local key folder.
     */
    MICROPAY_SECRET_BOX_KEY_ID: z.string().min(1).optional(),
    MICROPAY_SECRET_BOX_KEY_FILE: z.string().min(1).optional(),
    MICROPAY_IDEMPOTENCY_TTL_SECONDS: int(48 * 3600, 24 * 3600, 30 * 24 * 3600),
    MICROPAY_AUDIT_LOG: z.string().min(1).optional(),
    /**
     * DynamoDB's transient refusals (transaction conflicts, throttling: lib/store/retry.ts):
     * attempts in all, then 503 with Retry-After; full-jitter back-off from BASE, each
     * delay at most CAP.
     */
    MICROPAY_DYNAMODB_RETRY_ATTEMPTS: int(5, 1, 20),
    MICROPAY_DYNAMODB_RETRY_BASE_MS: int(20, 1, 1000),
    MICROPAY_DYNAMODB_RETRY_CAP_MS: int(500, 1, 10_000),
    /**
     * Balance items of each system account (funding, payout) per currency: a movement
     * updates one at random and the account's balance is their sum (hot-account sharding).
     */
    MICROPAY_SYSTEM_SHARDS: int(16, 1, 32),
    /**
     * How long a container trusts the balance-shard count it read of a customer
     * account before reading it again (counts only grow, so a stale one is a lower bound).
     */
    MICROPAY_SHARD_COUNT_CACHE_SECONDS: int(60, 0, 3600),
    MICROPAY_LOG_LEVEL: z.enum(["DEBUG", "INFO", "WARN", "ERROR", "SILENT"]).default("INFO"),
    /** How long event items (GET /v1/events, webhook deliveries) are kept: 30 days. */
    MICROPAY_EVENT_RETENTION_SECONDS: int(30 * 24 * 3600, 3600, 90 * 24 * 3600),
    /**
     * Seconds between delivery attempts of a webhook after the first failed one
     * (Standard Webhooks style back-off), comma-separated; the whole schedule spans at
     * most 3 days. After the last entry's attempt fails, the delivery is abandoned.
     */
    MICROPAY_WEBHOOK_RETRY_SCHEDULE: retrySchedule,
    /** `1`: http://127.0.0.1:PORT and http://localhost:PORT webhook URLs are accepted (local). */
    MICROPAY_WEBHOOK_ALLOW_LOOPBACK: z
      .enum(["0", "1"])
      .default("0")
      .transform((v) => v === "1"),
    /** One delivery attempt's limit (connect + answer). */
    MICROPAY_WEBHOOK_TIMEOUT_MS: int(10_000, 100, 30_000),
    /**
     * A delivery attempt claims its delivery for this long: a dispatcher that dies
     * mid-attempt leaves it due again after this, and the sweep retries it. Must
     * exceed the attempt timeout.
     */
    MICROPAY_WEBHOOK_CLAIM_SECONDS: int(60, 2, 900),
    /**
     * The safety-net sweep's period, and how overdue a delivery must be for it to take
     * it (retries go through the retry queue; the sweep takes what that path lost).
     * Local timer; in AWS the scheduled rule's rate (infra/constructs/webhooks.ts).
     */
    MICROPAY_WEBHOOK_SWEEP_SECONDS: int(60, 1, 3600),
    /** The SQS retry queue (AWS; set by the CDK stack). Unset: the local in-process queue. */
    MICROPAY_WEBHOOK_RETRY_QUEUE_URL: z.url().optional(),
    /**
     * An endpoint whose deliveries have failed without a success in between for this
     * long is disabled, with the reason on the endpoint (3 days).
     */
    MICROPAY_WEBHOOK_DISABLE_AFTER_SECONDS: int(3 * 24 * 3600, 1, 30 * 24 * 3600),
    /**
     * How long a hold (POST /v1/payments with capture: false) may wait for its capture:
     * 7 days; down to 1 second so a hold can be watched expiring.
     */
    MICROPAY_HOLD_TTL_SECONDS: int(7 * 24 * 3600, 1, 31 * 24 * 3600),
    /** How often the local stack's timer runs the expired-hold sweep (AWS: a schedule). */
    MICROPAY_HOLD_SWEEP_SECONDS: int(60, 1, 3600),
    /** How long a rotated-out webhook secret keeps signing beside the new one. */
    MICROPAY_WEBHOOK_SECRET_OVERLAP_SECONDS: int(24 * 3600, 0, 7 * 24 * 3600),
  })
  .superRefine((c, ctx) => {
    if (c.MICROPAY_WEBHOOK_CLAIM_SECONDS * 1000 <= c.MICROPAY_WEBHOOK_TIMEOUT_MS) {
      ctx.addIssue({
        code: "custom",
        path: ["MICROPAY_WEBHOOK_CLAIM_SECONDS"],
        message: "must exceed MICROPAY_WEBHOOK_TIMEOUT_MS",
      });
    }
    if (!c.MICROPAY_CURRENCIES.includes(c.MICROPAY_DEFAULT_CURRENCY)) {
      ctx.addIssue({
        code: "custom",
        path: ["MICROPAY_DEFAULT_CURRENCY"],
        message: "must be one of MICROPAY_CURRENCIES",
      });
    }
  });

export type Config = z.infer<typeof configSchema>;

export class ConfigError extends Error {
  override name = "ConfigError";
}

export function parseConfig(env: NodeJS.ProcessEnv): Config {
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) {
    const detail = parsed.error.issues
      .map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`)
      .join("; ");
    throw new ConfigError(`invalid MicroPay configuration: ${detail}`);
  }
  return parsed.data;
}

let cached: Config | undefined;

/** The configuration of this container, parsed on first use and then reused. */
export function config(): Config {
  cached ??= parseConfig(process.env);
  return cached;
}

/** Tests only: forget the cached configuration so a changed environment is read again. */
export function resetConfigForTests(): void {
  cached = undefined;
}
