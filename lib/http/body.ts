import { ApiError } from "./errors.ts";

export const MAX_BODY_BYTES = 16 * 1024;

/**
 * Reads the request body: JSON only, at most 16 KiB, parsed safely.
 *
 * Written here rather than with @middy/http-json-body-parser because the contract
 * needs a byte limit checked before parsing (413), 415 for any non-JSON media type
 * on a body-carrying request, and 400 (not 422) for malformed JSON.
 */
export function parseJsonBody(
  method: string,
  headers: Record<string, string>,
  body: string | null,
  isBase64Encoded: boolean,
): { raw: string; value: unknown } {
  const text =
    body == null ? "" : isBase64Encoded ? Buffer.from(body, "base64").toString("utf8") : body;
  const carriesBody = method === "POST" || method === "PUT" || method === "PATCH";
  if (Buffer.byteLength(text, "utf8") > MAX_BODY_BYTES) {
    throw new ApiError(413, "payload_too_large", {
      detail: `The request body is larger than ${MAX_BODY_BYTES} bytes.`,
    });
  }
  if (!carriesBody) {
    if (text.length > 0) {
      throw new ApiError(400, "validation_failed", { detail: `A ${method} request has no body.` });
    }
    return { raw: "", value: undefined };
  }
  const contentType = (headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
  if (text.length === 0 && contentType === "") return { raw: "", value: undefined };
  if (contentType !== "application/json") {
    throw new ApiError(415, "unsupported_media_type", {
      detail: "Send the request body as application/json.",
    });
  }
  try {
    return { raw: text, value: text.length === 0 ? undefined : (JSON.parse(text) as unknown) };
  } catch {
    throw new ApiError(400, "validation_failed", { detail: "The request body is not valid JSON." });
  }
}
