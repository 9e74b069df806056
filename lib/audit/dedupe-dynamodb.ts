import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { auditMarkerKey } from "../store/keys.ts";
import type { ClaimResult, DedupeStore } from "./consumer.ts";

/** Item type of a dedupe marker (the stream consumer ignores it like any non-audit item). */
export const AUDIT_MARKER_TYPE = "audit_log_marker";
/**
 * Markers outlive every possible redelivery: the stream keeps records 24 hours and the
 * on-failure queue 14 days; a replay later than 30 days is caught by the verifier.
 */
const MARKER_TTL_SECONDS = 30 * 24 * 3600;

const markerKey = auditMarkerKey;

/**
 * Dedupe markers in the MicroPay table (`AUDITLOG#<eventId>` / `AUDITLOG`): they
 * survive restarts and are shared by parallel invocations, and each claim is a single
 * conditional write, so two invocations can never both own one event.
 */
export function dynamoDedupeStore(doc: DynamoDBDocumentClient, tableName: string): DedupeStore {
  return {
    async claim(eventId, owner, nowMs, leaseMs): Promise<ClaimResult> {
      try {
        const out = await doc.send(
          new PutCommand({
            TableName: tableName,
            Item: {
              ...markerKey(eventId),
              type: AUDIT_MARKER_TYPE,
              state: "pending",
              owner,
              claimedAt: nowMs,
              expiresAt: Math.floor(nowMs / 1000) + MARKER_TTL_SECONDS,
            },
            ConditionExpression:
              "attribute_not_exists(pk) OR (#state = :pending AND claimedAt < :staleBefore)",
            ExpressionAttributeNames: { "#state": "state" },
            ExpressionAttributeValues: { ":pending": "pending", ":staleBefore": nowMs - leaseMs },
            ReturnValues: "ALL_OLD",
          }),
        );
        return out.Attributes ? "reclaimed" : "claimed";
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
        const current = await doc.send(
          new GetCommand({ TableName: tableName, Key: markerKey(eventId), ConsistentRead: true }),
        );
        return current.Item?.state === "written" ? "written" : "busy";
      }
    },
    async markWritten(eventId, _owner, nowMs) {
      await doc.send(
        new UpdateCommand({
          TableName: tableName,
          Key: markerKey(eventId),
          UpdateExpression: "SET #state = :written, writtenAt = :now",
          ExpressionAttributeNames: { "#state": "state" },
          ExpressionAttributeValues: { ":written": "written", ":now": nowMs },
        }),
      );
    },
    async release(eventId, owner) {
      try {
        await doc.send(
          new DeleteCommand({
            TableName: tableName,
            Key: markerKey(eventId),
            ConditionExpression: "#state = :pending AND #owner = :owner",
            ExpressionAttributeNames: { "#state": "state", "#owner": "owner" },
            ExpressionAttributeValues: { ":pending": "pending", ":owner": owner },
          }),
        );
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      }
    },
  };
}
