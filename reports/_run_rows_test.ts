import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { compareProfiles } from "./_run_rows.ts";
import { LADDER } from "../bench/ladder.ts";

Deno.test("profiles sort in ladder order (original-labels, original, …, fixed, …, best), then others", () => {
  assertEquals(
    ["smoke", "best", "zeta", "original", "fixed", "original-labels"].sort(compareProfiles),
    ["original-labels", "original", "fixed", "best", "smoke", "zeta"],
  );
  const rungs = LADDER.map((r) => r.profile.name);
  assertEquals(["zeta", ...rungs].reverse().sort(compareProfiles), [...rungs, "zeta"]);
});
