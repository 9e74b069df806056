import { ZxcvbnFactory } from "@zxcvbn-ts/core";
import { adjacencyGraphs, dictionary } from "@zxcvbn-ts/language-common";

/**
 * Refuses common and guessable passwords offline, with zxcvbn-ts (a maintained port of
 * Dropbox's estimator) and its common-password and keyboard-pattern dictionaries: no
 * network call, nothing leaves the function. A password must score at least
 * MIN_SCORE of 4 ("safely unguessable: moderate protection from offline slow-hash
 * attacks"), on top of the 12..72-byte rule (lib/auth/passwords.ts). The user's own
 * email is passed as a user input, so a password built from it scores low.
 */
const MIN_SCORE = 3;

let estimator: ZxcvbnFactory | undefined;

function zxcvbn(): ZxcvbnFactory {
  estimator ??= new ZxcvbnFactory({ dictionary, graphs: adjacencyGraphs });
  return estimator;
}

/** Undefined when the password is strong enough; else a short reason to show the user. */
export function passwordWeakness(
  password: string,
  userInputs: readonly string[] = [],
): string | undefined {
  // Whole inputs and their pieces: "jane.doe@example.com" also gives jane, doe, example.
  const inputs = userInputs.flatMap((u) => [u, ...u.split(/[^\p{L}\p{N}]+/u).filter(Boolean)]);
  const result = zxcvbn().check(password, inputs);
  if (result.score >= MIN_SCORE) return undefined;
  // zxcvbn-ts's own warnings are translation keys (no translation is loaded): one
  // plain sentence says enough and reveals nothing about the dictionaries.
  return "This password is too common or too easy to guess.";
}
