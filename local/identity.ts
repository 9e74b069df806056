import type { LocalSettings } from "./settings.ts";

/**
 * Local identity bootstrap: the signing key file and the seeded admin.
 * Filled in by the identity capability; the skeleton has nothing to prepare.
 */
export async function prepareLocalIdentity(
  _settings: LocalSettings,
): Promise<{ env: Record<string, string> }> {
  return { env: {} };
}

export async function seedLocalAdmin(_settings: LocalSettings): Promise<string | null> {
  return null;
}
