import { type AnyNode, parse as parseJsonAst } from "@humanwhocodes/momoa";
import { safeParse as parseContentType } from "fast-content-type-parse";
import { type FieldError, Refusal } from "../problems.ts";

export const MAX_BODY_BYTES = 16 * 1024;

/** The charset labels that name UTF-8 (WHATWG Encoding: `utf-8` and its alias `utf8`). */
const UTF8_LABELS: ReadonlySet<string> = new Set(["utf-8", "utf8"]);

const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * Reads the request body: JSON only, UTF-8 only, at most 16 KiB, parsed safely.
 *
 * Written here rather than with @middy/http-json-body-parser because the contract
 * needs a byte limit checked before parsing (413), 415 for any non-JSON media type
 * or non-UTF-8 charset on a body-carrying request, 400 (not 422) for malformed JSON,
 * and 400 for an object with the same key twice (JSON.parse would keep the last one
 * silently, so a reviewer and the ledger could read different amounts).
 */
export function parseJsonBody(
  method: string,
  headers: Record<string, string>,
  body: string | null,
  isBase64Encoded: boolean,
): { raw: string; value: unknown } {
  const text = body == null ? "" : isBase64Encoded ? decodeBase64Utf8(body) : body;
  const carriesBody = method === "POST" || method === "PUT" || method === "PATCH";
  if (Buffer.byteLength(text, "utf8") > MAX_BODY_BYTES) {
    throw new Refusal(
      "payload_too_large",
      `The request body is larger than ${MAX_BODY_BYTES} bytes.`,
    );
  }
  if (!carriesBody) {
    if (text.length > 0) {
      throw new Refusal("validation_failed", `A ${method} request has no body.`);
    }
    return { raw: "", value: undefined };
  }
  const declared = headers["content-type"] ?? "";
  if (text.length === 0 && declared.trim() === "") return { raw: "", value: undefined };
  checkMediaType(declared);
  if (text.length === 0) return { raw: "", value: undefined };
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch {
    throw new Refusal("validation_failed", "The request body is not valid JSON.");
  }
  const duplicate = firstDuplicateKey(text);
  if (duplicate) {
    throw new Refusal(
      "validation_failed",
      "The request body has the same key twice in one object.",
      { errors: [duplicate] },
    );
  }
  return { raw: text, value };
}

/**
 * `application/json`, with no charset or a UTF-8 one (any case, quoted or not); other
 * parameters are ignored. The header is parsed by fast-content-type-parse (RFC 9110
 * media-type grammar, quoted strings included); a header it cannot parse is refused.
 */
function checkMediaType(declared: string): void {
  const { type, parameters } = parseContentType(declared);
  if (type !== "application/json") {
    throw new Refusal("unsupported_media_type", "Send the request body as application/json.");
  }
  const charset = parameters.charset;
  if (charset !== undefined && !UTF8_LABELS.has(charset.toLowerCase())) {
    throw new Refusal(
      "unsupported_media_type",
      "Send the request body as UTF-8 (charset=utf-8, or no charset).",
    );
  }
}

/** A base64 body (API Gateway's form for bytes that are not UTF-8 text) decoded strictly. */
function decodeBase64Utf8(body: string): string {
  try {
    return strictUtf8.decode(Buffer.from(body, "base64"));
  } catch {
    throw new Refusal("validation_failed", "The request body is not valid UTF-8.");
  }
}

/**
 * The first key that appears twice in one object, anywhere in the document, as a
 * field error naming where (`body.a.b`). The text is already known to be valid JSON.
 * Momoa's AST keeps every member as written (JSON.parse keeps only the last one), with
 * escapes decoded, so `"a"` and `"\u0061"` are the same key. The tree is walked with
 * an explicit stack; momoa's parser itself recurses, so a document nested thousands
 * deep (JSON.parse accepts it) is refused as too deep rather than crash the chain.
 */
function firstDuplicateKey(text: string): FieldError | undefined {
  let root: AnyNode;
  try {
    root = parseJsonAst(text, { mode: "json" }).body;
  } catch {
    throw new Refusal("validation_failed", "The request body is nested too deeply.");
  }
  const stack: { node: AnyNode; path: string }[] = [{ node: root, path: "body" }];
  for (let item = stack.pop(); item; item = stack.pop()) {
    const { node, path } = item;
    if (node.type === "Array") {
      node.elements.forEach((e, i) => {
        stack.push({ node: e.value, path: `${path}.${i}` });
      });
    } else if (node.type === "Object") {
      const seen = new Set<string>();
      for (const member of node.members) {
        const key = member.name.type === "String" ? member.name.value : member.name.name;
        if (seen.has(key)) return { path: `${path}.${key}`, message: "duplicate key" };
        seen.add(key);
        stack.push({ node: member.value, path: `${path}.${key}` });
      }
    }
  }
  return undefined;
}
