import { Logger } from "@aws-lambda-powertools/logger";

/**
 * One Powertools Logger for the whole code base, built once per container.
 * House rule: never log a password, hash, token, key or whole request body; log
 * ids, names and outcomes. `MICROPAY_LOG_LEVEL=SILENT` quiets it (tests, bench).
 */
const level = process.env.MICROPAY_LOG_LEVEL ?? process.env.POWERTOOLS_LOG_LEVEL ?? "INFO";

export const logger = new Logger({
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? "micropay",
  logLevel: level as "DEBUG" | "INFO" | "WARN" | "ERROR" | "SILENT",
});
