/**
 * The README's library example runs as written: its ```ts block in "Use it as a library" is
 * type-checked and run from the repository root in a fresh Deno, and what it prints is
 * checked, so the README cannot drift from `mod.ts`.
 *
 * @module
 */
import {
  deepStrictEqual as assertEquals,
  match as assertMatch,
  ok as assert,
} from "node:assert/strict";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const SECTION = "## Use it as a library";

/**
 * The code of the README's library example: the first ```ts block of its section.
 * @param readme the README's text
 * @returns the block's code, ending in a newline
 * @throws Error when the section or its block is missing
 */
export function libraryExample(readme: string): string {
  const at = readme.indexOf(`\n${SECTION}\n`);
  if (at < 0) throw new Error(`Cannot find the example: README.md has no "${SECTION}" section`);
  const next = readme.indexOf("\n## ", at + 1);
  const section = readme.slice(at, next < 0 ? undefined : next);
  const block = section.match(/\n```ts\n([\s\S]*?)\n```\n/);
  if (block === null) {
    throw new Error(`Cannot find the example: "${SECTION}" has no \`\`\`ts block`);
  }
  return block[1]! + "\n";
}

Deno.test("libraryExample() takes the ts block of its section only", () => {
  const readme = "# x\n\n```ts\nother();\n```\n\n" + SECTION + "\n\ntext\n\n```ts\nmine();\n```\n" +
    "\n## Next\n\n```ts\nlater();\n```\n";
  assertEquals(libraryExample(readme), "mine();\n");
});

Deno.test("the README's library example is at most 25 lines", async () => {
  const code = libraryExample(await Deno.readTextFile(`${ROOT}README.md`));
  const lines = code.trimEnd().split("\n").length;
  assert(lines <= 25, `the example has ${lines} lines`);
});

Deno.test("the README's library example type-checks, trains, matches the reference and exports ONNX", async () => {
  const code = libraryExample(await Deno.readTextFile(`${ROOT}README.md`));
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", "--check", "-"],
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(code));
  await writer.close();
  const { code: exit, stdout, stderr } = await child.output();
  const out = new TextDecoder().decode(stdout);
  assertEquals(exit, 0, `the example failed:\n${out}\n${new TextDecoder().decode(stderr)}`);

  const lines = out.trimEnd().split("\n");
  assertEquals(lines.length, 4, `expected 4 lines, got:\n${out}`);
  // What resolveEngine("auto") picked and why (registry.ts's "engine auto → <kind>: …").
  assertMatch(lines[0]!, /^engine auto → (cuda|native|tfjs-wasm|tfjs-cpu): /);
  const [, engineLoss, refLoss] = lines[1]!.match(/^loss (\S+), float64 reference (\S+)$/) ?? [];
  const [, trainedLoss] = lines[2]!.match(/^loss after 2 steps (\S+)$/) ?? [];
  const [, bytes] = lines[3]!.match(/^ONNX model: (\d+) bytes$/) ?? [];
  assert(engineLoss && refLoss && trainedLoss && bytes, `unexpected output:\n${out}`);
  // The engine computes in float32: agreement with the float64 reference to float32 precision.
  const diff = Math.abs(Number(engineLoss) - Number(refLoss));
  assert(diff < 1e-5 * Math.max(1, Number(refLoss)), `engine ${engineLoss}, reference ${refLoss}`);
  // Two Adam steps on the one batch, learning rate 0.05: the loss on that batch goes down.
  assert(Number(trainedLoss) < Number(engineLoss), `loss ${engineLoss} → ${trainedLoss}`);
  // The exporter returned a file (its contents are export_test.ts's business).
  assert(Number(bytes) > 0);
});
