import type * as z from "zod";
import { type FieldError, Refusal } from "../problems.ts";

/** Runs a zod schema; failures become one 400 naming each bad field (never echoing values). */
export function validate<T>(schema: z.ZodType<T> | undefined, value: unknown, where: string): T {
  if (!schema) {
    const empty =
      value === undefined ||
      value === null ||
      (typeof value === "object" && Object.keys(value as object).length === 0);
    if (!empty) {
      throw new Refusal("validation_failed", `This route takes no ${where}.`);
    }
    return undefined as T;
  }
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const errors: FieldError[] = parsed.error.issues.map((issue) => ({
    path: [where, ...issue.path.map(String)].join("."),
    message: issue.message,
  }));
  throw new Refusal("validation_failed", `The ${where} is invalid.`, {
    errors: errors.slice(0, 20),
  });
}
