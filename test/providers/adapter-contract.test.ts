/**
 * The shared adapter contract: ONE scenario list, run against every provider adapter (OpenAI,
 * Anthropic, Gemini) through a per-provider kit that phrases the upstream answer in its dialect.
 * Hand-made answers come from test/support/dialect-answers.ts (marked HAND-MADE there); recorded
 * traffic comes from the fixture rows in test/support/provider-fixture-rows.ts, and every fixture
 * file must be replayed by at least one row. This file runs the hand-made scenarios
 * (test/support/contract-scenarios.ts); adapter-contract-failures.test.ts the upstream errors and
 * broken streams; adapter-contract-fixtures.test.ts the recorded rows and the coverage test.
 */
import { describe, expect, it } from "vitest";
import { checkRequest } from "../support/contract-request-checks.js";
import { assertOutcome, runRow, sentRequest } from "../support/contract-run.js";
import { canonical, expectedFrom, handMadeAnswer, MODES, SCENARIOS } from "../support/contract-scenarios.js";
import { KITS } from "../support/provider-kits.js";

describe.each(KITS)("$label adapter contract", (kit) => {
  describe("hand-made scenarios (bodies written by dialect-answers.ts)", () => {
    const rows = SCENARIOS.flatMap((scenario) => MODES.map((mode) => ({ scenario, mode })));
    it.each(rows)("$scenario.name ($mode)", async ({ scenario, mode }) => {
      const answer = canonical(kit, scenario);
      const run = await runRow(kit, { mode, model: kit.model, input: scenario.input, answer: handMadeAnswer(kit, answer, mode, scenario.write) });
      const outcome = assertOutcome(run, { ...expectedFrom(kit, answer), warnings: scenario.warnings?.[kit.dialect] ?? [] });
      expect(outcome.id).toBe(answer.id);
      checkRequest(kit, scenario.name, mode, kit.model, scenario.input, sentRequest(run));
    });

    it("fetches an https image URL itself only when the provider cannot take it by reference", async () => {
      kit.mediaFetches.length = 0;
      const scenario = SCENARIOS.find((entry) => entry.name === "images");
      if (!scenario) throw new Error("no images scenario");
      await runRow(kit, { mode: "generate", model: kit.model, input: scenario.input, answer: handMadeAnswer(kit, canonical(kit, scenario), "generate") });
      expect(kit.mediaFetches).toEqual(kit.imageUrls === "fetched-and-inlined" ? ["messages[0].content[1] https://media.example.com/cat.png"] : []);
    });
  });
});
