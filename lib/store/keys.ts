import { createHash } from "node:crypto";

/**
 * The key map: every `pk`/`sk` (and GSI key) of the one MicroPay table is built here.
 *
 * Table layout (single table; `pk`/`sk` strings; one sparse GSI, `gsi1`):
 *
 *   entity              pk                                 sk              gsi1pk / gsi1sk
 *   user                USER#<userId>                      PROFILE         USERS / USER#<userId>
 *   email claim         EMAIL#<email>                      EMAIL
 *   admin counter       META#ADMINS                        COUNTER
 *   refresh family      RTFAM#<familyId>                   FAMILY
 *   refresh token       RT#<sha256(token)>                 TOKEN
 *   API key (lookup)    APIKEY#<sha256(key)>               KEY
 *   API key (owner's)   USER#<ownerId>                     APIKEY#<keyId>
 *   API key last use    APIKEYUSE#<keyId>                  USE
 *   account             ACC#<accountId>                    ACCOUNT         OWNER#<ownerId> / ACC#<accountId>
 *   account shard k>=1  ACC#<accountId>#S<k>               SHARD     (balance item: issue 18)
 *   shard counts        META#SHARDS                        COUNTS    (accounts with > 1 shard)
 *   owner+currency      OWNER#<ownerId>#CUR#<currency>     UNIQUE
 *   entry               ACC#<accountId>                    ENT#<entryId>
 *   payment link        ACC#<accountId>                    PAY#<paymentId>
 *   payment             PAY#<paymentId>                    PAYMENT
 *   open hold           ACC#<accountId>                    HOLD#<captureBefore>#<paymentId>   HOLDS / <captureBefore>#<paymentId>
 *   refund              PAY#<paymentId>                    REF#<refundId>
 *   transfer            TRF#<transferId>                   TRANSFER   (immutable)
 *   idempotency record  IDEM#<userId>#<sha256(key)>        IDEM
 *   audit outbox item   AUDIT#<eventId>                    AUDIT
 *   audit log marker    AUDITLOG#<eventId>                 AUDITLOG
 *   event (webhooks)    EVT#<eventId>                      EVENT           EVENTS#<yyyy-mm-dd> / EVT#<eventId>
 *   event link          ACC#<accountId>                    EVT#<eventId>
 *   approval            APPROVALS                          APR#<approvalId>
 *   webhook endpoint    WHOWNER#<ownerId>                  WE#<endpointId>
 *   webhook delivery    WE#<endpointId>                    DLV#<eventId>   WHDUE / <nextAttemptAt>#<endpointId>#<eventId> (while due)
 *   delivery attempt    WE#<endpointId>                    ATT#<attemptId>
 *
 * `gsi1` lists users (admin list, newest first), an owner's accounts, all events by day
 * (admins, auditors), the webhook deliveries due for an attempt (sparse: only while
 * one is due) and the open holds by `captureBefore` (the expired-hold sweeper; an open
 * hold's item is deleted by the transaction that settles it). Ids are
 * ULID-based, so sort keys order newest last and lists query with
 * ScanIndexForward=false. `expiresAt` (epoch seconds) is the TTL attribute.
 */
export interface Key {
  readonly pk: string;
  readonly sk: string;
}

// identity
export const userKey = (id: string): Key => ({ pk: `USER#${id}`, sk: "PROFILE" });
export const emailKey = (email: string): Key => ({ pk: `EMAIL#${email}`, sk: "EMAIL" });
export const adminCounterKey: Key = { pk: "META#ADMINS", sk: "COUNTER" };
export const familyKey = (id: string): Key => ({ pk: `RTFAM#${id}`, sk: "FAMILY" });
export const refreshKey = (hash: string): Key => ({ pk: `RT#${hash}`, sk: "TOKEN" });
export const mfaChallengeKey = (hash: string): Key => ({ pk: `MFA#${hash}`, sk: "CHALLENGE" });
export const USERS_INDEX = "gsi1";
export const USERS_PARTITION = "USERS";
export const userIndexKey = (id: string) => ({
  gsi1pk: USERS_PARTITION,
  gsi1sk: `USER#${id}`,
});

// API keys (lib/store/api-keys.ts): the lookup item is found by the hash of the
// presented secret (authentication), the owner's item by id under the owner's partition
// (list, revoke: strongly consistent, and another user's key is simply not there), and
// the last-use item apart, so the only write a key's request makes cannot touch either.
export const apiKeyLookupKey = (hash: string): Key => ({ pk: `APIKEY#${hash}`, sk: "KEY" });
export const API_KEY_PREFIX = "APIKEY#";
export const apiKeyOwnerKey = (ownerId: string, keyId: string): Key => ({
  pk: userKey(ownerId).pk,
  sk: `${API_KEY_PREFIX}${keyId}`,
});
export const apiKeyUseKey = (keyId: string): Key => ({ pk: `APIKEYUSE#${keyId}`, sk: "USE" });
/** IAM `dynamodb:LeadingKeys` patterns of what API-key authentication reads and writes. */
export const API_KEY_AUTH_READ_LEADING_KEYS = ["APIKEY#*", "USER#*"] as const;
export const API_KEY_AUTH_WRITE_LEADING_KEYS = ["APIKEYUSE#*"] as const;

// ledger
export const accountKey = (id: string): Key => ({ pk: `ACC#${id}`, sk: "ACCOUNT" });
/**
 * A balance shard of an account (lib/ledger/shards.ts): shard 0 is the account item,
 * shard k >= 1 an item of its own partition, so the shards of a hot account never share
 * a partition's write capacity.
 */
export const accountShardKey = (id: string, shard: number): Key =>
  shard === 0 ? accountKey(id) : { pk: `ACC#${id}#S${shard}`, sk: "SHARD" };
/** The one item naming every account with more than one shard (and how many). */
export const shardCountsKey: Key = { pk: "META#SHARDS", sk: "COUNTS" };
export const ownerCurrencyKey = (ownerId: string, currency: string): Key => ({
  pk: `OWNER#${ownerId}#CUR#${currency}`,
  sk: "UNIQUE",
});
export const OWNER_INDEX = "gsi1";
export const ownerPartition = (ownerId: string) => `OWNER#${ownerId}`;
export const ACCOUNT_PREFIX = "ACC#";
export const accountIndexKey = (ownerId: string, accountId: string) => ({
  gsi1pk: ownerPartition(ownerId),
  gsi1sk: `${ACCOUNT_PREFIX}${accountId}`,
});
export const accountPartition = (accountId: string) => `ACC#${accountId}`;
export const ENTRY_PREFIX = "ENT#";
export const entryKey = (accountId: string, entryId: string): Key => ({
  pk: accountPartition(accountId),
  sk: `${ENTRY_PREFIX}${entryId}`,
});
export const PAYMENT_LINK_PREFIX = "PAY#";
export const paymentLinkKey = (accountId: string, paymentId: string): Key => ({
  pk: accountPartition(accountId),
  sk: `${PAYMENT_LINK_PREFIX}${paymentId}`,
});
export const paymentPartition = (paymentId: string) => `PAY#${paymentId}`;
export const paymentKey = (paymentId: string): Key => ({
  pk: paymentPartition(paymentId),
  sk: "PAYMENT",
});
export const REFUND_PREFIX = "REF#";
export const refundKey = (paymentId: string, refundId: string): Key => ({
  pk: paymentPartition(paymentId),
  sk: `${REFUND_PREFIX}${refundId}`,
});
/**
 * An open hold (API.md "Holds"): under its payer's account, sorted by `captureBefore`,
 * so "this account's expired holds" is one strongly consistent Query; and in gsi1's
 * HOLDS partition by `captureBefore` for the sweeper. Written with the hold, deleted by
 * whichever of capture, cancel or expiry settles it.
 */
export const HOLD_PREFIX = "HOLD#";
export const holdKey = (accountId: string, captureBefore: string, paymentId: string): Key => ({
  pk: accountPartition(accountId),
  sk: `${HOLD_PREFIX}${captureBefore}#${paymentId}`,
});
export const HOLDS_INDEX = "gsi1";
export const HOLDS_PARTITION = "HOLDS";
export const holdIndexKey = (captureBefore: string, paymentId: string) => ({
  gsi1pk: HOLDS_PARTITION,
  gsi1sk: `${captureBefore}#${paymentId}`,
});
export const transferKey = (transferId: string): Key => ({
  pk: `TRF#${transferId}`,
  sk: "TRANSFER",
});

// idempotency and audit
export function idempotencyKey(userId: string, key: string): Key {
  const hash = createHash("sha256").update(key, "utf8").digest("hex");
  return { pk: `IDEM#${userId}#${hash}`, sk: "IDEM" };
}
export const auditKey = (eventId: string): Key => ({ pk: `AUDIT#${eventId}`, sk: "AUDIT" });
export const auditMarkerKey = (eventId: string): Key => ({
  pk: `AUDITLOG#${eventId}`,
  sk: "AUDITLOG",
});

// dual control (lib/store/approvals.ts): one partition, newest first by ULID
export const APPROVALS_PARTITION = "APPROVALS";
export const APPROVAL_PREFIX = "APR#";
export const approvalKey = (id: string): Key => ({
  pk: APPROVALS_PARTITION,
  sk: `${APPROVAL_PREFIX}${id}`,
});

// events and webhooks
export const EVENT_PREFIX = "EVT#";
export const eventKey = (eventId: string): Key => ({ pk: `EVT#${eventId}`, sk: "EVENT" });
export const eventLinkKey = (accountId: string, eventId: string): Key => ({
  pk: accountPartition(accountId),
  sk: `${EVENT_PREFIX}${eventId}`,
});
export const EVENTS_INDEX = "gsi1";
/** The day bucket of the all-events index: `EVENTS#2026-11-26` (UTC day of createdAt). */
export const eventDayPartition = (isoOrDay: string) => `EVENTS#${isoOrDay.slice(0, 10)}`;
export const eventIndexKey = (createdAt: string, eventId: string) => ({
  gsi1pk: eventDayPartition(createdAt),
  gsi1sk: `${EVENT_PREFIX}${eventId}`,
});
export const webhookOwnerPartition = (ownerId: string) => `WHOWNER#${ownerId}`;
export const WEBHOOK_ENDPOINT_PREFIX = "WE#";
export const webhookEndpointKey = (ownerId: string, endpointId: string): Key => ({
  pk: webhookOwnerPartition(ownerId),
  sk: `${WEBHOOK_ENDPOINT_PREFIX}${endpointId}`,
});
export const webhookPartition = (endpointId: string) => `WE#${endpointId}`;
export const DELIVERY_PREFIX = "DLV#";
export const deliveryKey = (endpointId: string, eventId: string): Key => ({
  pk: webhookPartition(endpointId),
  sk: `${DELIVERY_PREFIX}${eventId}`,
});
export const ATTEMPT_PREFIX = "ATT#";
export const attemptKey = (endpointId: string, attemptId: string): Key => ({
  pk: webhookPartition(endpointId),
  sk: `${ATTEMPT_PREFIX}${attemptId}`,
});
export const DUE_INDEX = "gsi1";
export const DUE_PARTITION = "WHDUE";
export const dueIndexKey = (nextAttemptAt: string, endpointId: string, eventId: string) => ({
  gsi1pk: DUE_PARTITION,
  gsi1sk: `${nextAttemptAt}#${endpointId}#${eventId}`,
});
