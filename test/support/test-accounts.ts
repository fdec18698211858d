/**
 * The configuration adapter tests build their adapters from: the default gateway config and a
 * provider account with test defaults.
 */
import { parseGatewayConfig, type GatewayConfig, type ProviderAccount } from "../../src/config/gateway-config.js";

/** Account fields a test may set; a field set to undefined is left out of the account. */
export type AccountFields = { [K in keyof ProviderAccount]?: ProviderAccount[K] | undefined };

/** The gateway config with every default (one worker); throws if the defaults do not parse. */
export function defaultTestConfig(): GatewayConfig {
  const config = parseGatewayConfig({}, { workers: 1 }).config;
  if (!config) throw new Error("default config did not parse");
  return config;
}

/** A provider account with no headers and no models, then `overrides`; undefined overrides drop the field. */
export function testAccount(name: string, type: string, apiKey: string, overrides: AccountFields = {}): ProviderAccount {
  const merged = { name, type, apiKey, headers: {}, models: [], ...overrides };
  return Object.fromEntries(Object.entries(merged).filter(([, value]) => value !== undefined)) as unknown as ProviderAccount;
}
