import { config } from "../config.ts";

/**
 * ISO 4217 minor-unit exponents (the number of digits after the decimal point).
 * Covers the default allow-list (USD, EUR, GBP, JPY, BHD) and the other currencies a
 * deployment is likely to configure. A configured currency missing here fails
 * closed: `exponentOf` throws, so a typo never silently becomes exponent 2.
 */
const EXPONENTS: Readonly<Record<string, number>> = {
  // 2 digits
  USD: 2,
  EUR: 2,
  GBP: 2,
  CHF: 2,
  CAD: 2,
  AUD: 2,
  NZD: 2,
  SEK: 2,
  NOK: 2,
  DKK: 2,
  PLN: 2,
  CZK: 2,
  HUF: 2,
  RON: 2,
  BGN: 2,
  SGD: 2,
  HKD: 2,
  CNY: 2,
  INR: 2,
  MXN: 2,
  BRL: 2,
  ZAR: 2,
  TRY: 2,
  ILS: 2,
  AED: 2,
  SAR: 2,
  THB: 2,
  MYR: 2,
  PHP: 2,
  EGP: 2,
  // 0 digits
  JPY: 0,
  KRW: 0,
  VND: 0,
  CLP: 0,
  ISK: 0,
  XOF: 0,
  XAF: 0,
  PYG: 0,
  UGX: 0,
  RWF: 0,
  // 3 digits
  BHD: 3,
  KWD: 3,
  OMR: 3,
  JOD: 3,
  TND: 3,
  LYD: 3,
  IQD: 3,
};

export class UnknownCurrencyError extends Error {
  override name = "UnknownCurrencyError";
}

/** The ISO 4217 exponent of a currency. */
export function exponentOf(currency: string): number {
  const e = EXPONENTS[currency];
  if (e === undefined) throw new UnknownCurrencyError(`no ISO 4217 exponent for ${currency}`);
  return e;
}

/** True when the currency is on the configured allow-list (and has a known exponent). */
export function isAllowedCurrency(currency: string): boolean {
  return config().MICROPAY_CURRENCIES.includes(currency) && EXPONENTS[currency] !== undefined;
}

/**
 * The largest amount of one movement in minor units: MICROPAY_MAX_PAYMENT_MAJOR major
 * units times 10^exponent. Integer arithmetic only (1e9 * 1000 < 2^53).
 */
export function maxAmountMinor(currency: string, maxMajor = config().MICROPAY_MAX_PAYMENT_MAJOR) {
  return maxMajor * 10 ** exponentOf(currency);
}
