import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { compareProfiles } from "./_run_rows.ts";

Deno.test("profiles sort as original-labels, original, fixed, best, then others", () => {
  assertEquals(
    ["smoke", "best", "zeta", "original", "fixed", "original-labels"].sort(compareProfiles),
    ["original-labels", "original", "fixed", "best", "smoke", "zeta"],
  );
});
