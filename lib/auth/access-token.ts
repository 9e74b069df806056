import { unauthorized } from "../http/errors.ts";
import type { Principal } from "../routes/types.ts";

/**
 * Verifies a bearer access token and returns who it belongs to.
 * Placeholder until the identity capability lands: every token is refused.
 */
export async function verifyAccessToken(_token: string): Promise<Principal> {
  throw unauthorized("The access token is invalid.");
}
