import * as z from "zod";
import { MAX_BALANCE_SHARDS } from "./shards.ts";

/**
 * Request and response schemas of the ledger routes. Request objects are strict: an
 * unknown member is a 400, never ignored (no mass assignment: a client can never set
 * `balance`, `status`, `ownerId` or `amountRefunded`).
 *
 * Amounts are integers in minor units. The schema bounds them by the largest
 * configured ceiling; the per-currency ceiling (MICROPAY_MAX_PAYMENT_MAJOR x
 * 10^exponent) is checked by lib/ledger/rules.ts once the currency is known.
 */
const ULID = "[0-9A-HJKMNP-TV-Z]{26}";
export const accountId = z
  .string()
  .regex(new RegExp(`^acc_${ULID}$`))
  .meta({ example: "acc_01J9Z8Q4N7V3XKQ2T5W6Y8B0CD" });
export const paymentId = z
  .string()
  .regex(new RegExp(`^pay_${ULID}$`))
  .meta({ example: "pay_01J9Z8R2A1B3C4D5E6F7G8H9JK" });
export const transferId = z
  .string()
  .regex(new RegExp(`^trf_${ULID}$`))
  .meta({ example: "trf_01J9Z8S5M2N3P4Q5R6S7T8V9WX" });
const ownerId = z.string().regex(new RegExp(`^(usr_${ULID}|system)$`));
const currency = z
  .string()
  .regex(/^[A-Z]{3}$/)
  .meta({ description: "Upper-case ISO 4217 code from the allow-list.", example: "USD" });
const amount = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).meta({
  description: "Integer amount in the currency's minor unit (cents for USD).",
  example: 2500,
});
const text = (max: number) => z.string().min(1).max(max);
const when = z.iso.datetime();

const limit = z.coerce.number().int().min(1).max(100).default(20);
const cursor = z.string().min(1).max(1024).optional();

export const listQuery = z.strictObject({ limit, cursor });
export const accountsQuery = z.strictObject({ limit, cursor, ownerId: ownerId.optional() });
export const paymentsQuery = z.strictObject({ limit, cursor, accountId });

export const accountParams = z.strictObject({ accountId });
export const paymentParams = z.strictObject({ paymentId });
export const transferParams = z.strictObject({ transferId });

export const createAccountBody = z.strictObject({ currency });
export const transferBody = z.strictObject({ amount, reference: text(128) });
export const accountStatusBody = z
  .strictObject({
    status: z.enum(["active", "frozen"]).optional(),
    balanceShards: z
      .number()
      .int()
      .min(1)
      .max(MAX_BALANCE_SHARDS)
      .optional()
      .meta({
        description:
          "Balance items the account's balance is spread over (hot accounts; only ever raised). " +
          "Credits spread over them at random; a debit takes from one that covers it.",
      }),
  })
  .refine((b) => b.status !== undefined || b.balanceShards !== undefined, {
    message: "give status, balanceShards or both",
  });
export const paymentBody = z.strictObject({
  sourceAccountId: accountId,
  destinationAccountId: accountId,
  amount,
  currency,
  description: text(500).optional(),
  capture: z.boolean().optional().meta({
    description:
      "false: place a hold (status requires_capture) to capture or cancel later; default true.",
  }),
});
export const captureBody = z.strictObject({
  amount: amount.optional().meta({
    description: "Defaults to all of amountCapturable; the rest of the hold is released.",
  }),
});
export const refundBody = z.strictObject({
  amount: amount.optional().meta({ description: "Defaults to all that remains refundable." }),
  reason: text(500).optional(),
});

export const accountView = z.object({
  id: z.string(),
  ownerId: z.string(),
  currency: z.string(),
  balance: z.number().int().meta({ description: "Posted balance (minor units)." }),
  held: z.number().int().meta({ description: "Sum of the open holds out of the account." }),
  available: z.number().int().meta({
    description: "balance - held: what payments, holds and withdrawals may take.",
  }),
  status: z.enum(["active", "frozen"]),
  kind: z.enum(["customer", "system"]),
  balanceShards: z
    .number()
    .int()
    .min(2)
    .max(MAX_BALANCE_SHARDS)
    .optional()
    .meta({ description: "Balance items (shards) when more than one; `balance` is their sum." }),
  createdAt: when,
  updatedAt: when,
});

const transferIdOf = (what: string) =>
  z
    .string()
    .optional()
    .meta({
      description: `The transfer that moved this ${what}'s money (absent only on ${what}s written before transfers existed).`,
    });

export const entryView = z.object({
  id: z.string(),
  accountId: z.string(),
  transferId: transferIdOf("entry"),
  paymentId: z.string().optional(),
  refundId: z.string().optional(),
  kind: z.enum(["deposit", "withdrawal", "payment", "refund", "capture"]),
  direction: z.enum(["debit", "credit"]),
  amount: z.number().int(),
  currency: z.string(),
  counterpartyAccountId: z.string(),
  reference: z.string().optional(),
  createdAt: when,
});

/** The unit of money movement: one debit and one credit of the same amount. */
export const transfer = z.object({
  id: z.string(),
  kind: z.enum(["deposit", "withdrawal", "payment", "refund", "capture"]),
  debitAccountId: z.string(),
  creditAccountId: z.string(),
  amount: z.number().int(),
  currency: z.string(),
  paymentId: z.string().optional(),
  refundId: z.string().optional(),
  reference: z.string().optional(),
  createdAt: when,
});

/** A deposit or withdrawal: its transfer, the account it was made on, and its two entries. */
export const transferView = transfer.extend({
  kind: z.enum(["deposit", "withdrawal"]),
  accountId: z.string(),
  reference: z.string(),
  entries: z.tuple([entryView, entryView]),
});

export const paymentView = z.object({
  id: z.string(),
  status: z.enum(["requires_capture", "succeeded", "partially_refunded", "refunded", "canceled"]),
  sourceAccountId: z.string(),
  destinationAccountId: z.string(),
  amount: z.number().int(),
  currency: z.string(),
  amountRefunded: z.number().int(),
  amountCaptured: z.number().int().meta({
    description: "Moved to the destination: the amount (immediate payment) or the capture (hold).",
  }),
  amountCapturable: z
    .number()
    .int()
    .meta({ description: "What a capture may still take (0 unless requires_capture)." }),
  captureBefore: when.optional().meta({
    description: "Holds only: after this instant the hold is expired and cannot be captured.",
  }),
  cancellationReason: z.enum(["requested", "expired"]).optional(),
  description: z.string().nullable(),
  transferId: transferIdOf("payment"),
  createdAt: when,
});

export const refundView = z.object({
  id: z.string(),
  paymentId: z.string(),
  amount: z.number().int(),
  currency: z.string(),
  reason: z.string().nullable(),
  transferId: transferIdOf("refund"),
  createdAt: when,
});

const pageOf = <T extends z.ZodType>(item: T) =>
  z.object({ data: z.array(item), hasMore: z.boolean(), nextCursor: z.string().nullable() });

export const accountPage = pageOf(accountView);
export const entryPage = pageOf(entryView);
export const paymentPage = pageOf(paymentView);
export const refundPage = pageOf(refundView);
