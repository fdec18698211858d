import { parseGatewayConfig, type GatewayConfig } from "../../../src/config/gateway-config.js";
import { chatInputFor } from "../../support/proto-builders.js";

/** Builds a ChatInput from an init object (model defaults to the "google" account). */
export const chatInput = chatInputFor("google/test");

/** A validated gateway config with one Gemini account named "google". */
export function geminiConfig(account: Record<string, unknown> = {}, media: Record<string, unknown> = {}): GatewayConfig {
  const { config, issues } = parseGatewayConfig({ providers: { google: { type: "gemini", api_key: "AIzaTestKey-0123456789abcdefghij", ...account } }, media }, { workers: 1 });
  if (!config) throw new Error(`bad test config: ${JSON.stringify(issues)}`);
  return config;
}
