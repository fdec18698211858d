/**
 * The adapter contract (see adapter-contract.test.ts), recorded traffic: the fixture rows of
 * test/support/provider-fixture-rows.ts, and the check that every fixture file is replayed by one.
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkRequest } from "../support/contract-request-checks.js";
import { assertError, assertOutcome, runRow, sentRequest } from "../support/contract-run.js";
import { SCENARIOS } from "../support/contract-scenarios.js";
import { FIXTURE_ROWS } from "../support/provider-fixture-rows.js";
import { KITS } from "../support/provider-kits.js";
import { FIXTURES_DIR } from "../support/replay-transport.js";

describe.each(KITS)("$label adapter contract", (kit) => {
  describe("recorded fixtures", () => {
    it.each(FIXTURE_ROWS[kit.dialect].map((row) => ({ ...row, title: `${row.scenario} (${row.mode}): ${row.label}` })))("$title", async (row) => {
      const run = await runRow(kit, row);
      if ("outcome" in row.expect) {
        assertOutcome(run, row.expect.outcome);
      } else {
        assertError(run, row.expect.error, kit);
        expect(run.eventCount).toBe(0);
      }
      const sent = sentRequest(run);
      checkRequest(kit, row.scenario, row.mode, row.model, row.input, sent, row.account);
      row.request?.(sent);
    });
  });
});

describe("fixture coverage", () => {
  it("every recorded fixture file is replayed by at least one contract row", () => {
    const onDisk = readdirSync(FIXTURES_DIR, { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .flatMap((folder) => readdirSync(join(FIXTURES_DIR, folder.name)).map((file) => `${folder.name}/${file}`))
      .sort();
    const covered = [...new Set(Object.values(FIXTURE_ROWS).flatMap((rows) => rows.flatMap((row) => row.fixtures)))].sort();
    expect(onDisk.length).toBeGreaterThan(0);
    expect(covered).toEqual(onDisk);
  });

  it("every contract scenario has hand-made rows for every kit, and recorded rows name a known scenario", () => {
    const handMade = new Set<string>(SCENARIOS.map((scenario) => scenario.name));
    const known = new Set<string>([...handMade, "upstream 400", "truncated stream"]);
    for (const rows of Object.values(FIXTURE_ROWS)) for (const row of rows) expect(known.has(row.scenario), row.label).toBe(true);
    expect(KITS.map((kit) => kit.dialect)).toEqual(["openai", "anthropic", "gemini"]);
  });
});
