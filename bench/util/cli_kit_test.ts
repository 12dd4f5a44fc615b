import { deepStrictEqual as assertEquals, throws as assertThrows } from "node:assert/strict";
import { Command, Option } from "commander";
import {
  choice,
  fraction,
  integer,
  intList,
  nameList,
  parseCommandLine,
  positiveNumber,
  repeated,
  UsageError,
} from "./cli_kit.ts";

const ARCHS = ["rnn", "gru", "lstm"] as const;

function tool(): Command {
  return new Command("tool")
    .addOption(new Option("--steps <n>").argParser(integer("--steps", 1, 20)).default(5))
    .addOption(new Option("--arch <list>").argParser(nameList("architecture", ARCHS)))
    .addOption(new Option("--set <kv>").argParser(repeated).default([]));
}

Deno.test("parseCommandLine() applies the parsers and defaults", () => {
  const o = parseCommandLine(tool(), ["--arch", "LSTM,rnn,lstm", "--set", "a=1", "--set", "b=2"])
    .opts();
  assertEquals(o, { steps: 5, arch: ["lstm", "rnn"], set: ["a=1", "b=2"] });
});

Deno.test("parseCommandLine() turns a bad command line into a one-line UsageError", () => {
  const cases: [string[], RegExp][] = [
    [["--bogus"], /^unknown option '--bogus': valid flags are --steps, --arch, --set, --help$/],
    [["--steps", "21"], /--steps must be an integer from 1 to 20, got "21"\.$/],
    [["--arch", "gru,cnn"], /Unknown architecture "cnn": valid values are rnn, gru, lstm\.$/],
    [["extra"], /^too many arguments/],
  ];
  for (const [argv, want] of cases) {
    assertThrows(() => parseCommandLine(tool(), argv), (e: unknown) => {
      if (!(e instanceof UsageError)) throw e;
      if (!want.test(e.message) || e.message.includes("\n")) throw new Error(e.message);
      return true;
    });
  }
});

Deno.test("the number parsers accept their range and name it otherwise", () => {
  assertEquals([integer("n", 0)("0"), integer("n", 0)(" 7 ")], [0, 7]);
  for (const bad of ["1.5", "x", "", "-1", "1e3"]) {
    assertThrows(() => integer("n", 0)(bad), /n must be an integer ≥ 0/);
  }
  assertEquals(positiveNumber("x", 1)("1"), 1);
  assertThrows(() => positiveNumber("x", 1)("0"), /x must be a number in \(0, 1\]/);
  assertThrows(() => positiveNumber("x")("-2"), /x must be a number > 0/);
  assertEquals(fraction("f")("0"), 0);
  assertThrows(() => fraction("f")("1"), /f must be a number in \[0, 1\)/);
  assertEquals(intList("size")("1, 64,64"), [1, 64, 64]);
  assertEquals(intList("size", { unique: true })("1,64,64"), [1, 64]);
  assertThrows(() => intList("every size")("1,x"), /every size must be an integer ≥ 1/);
});

Deno.test("the name parsers return the valid spelling and list the valid values", () => {
  assertEquals(choice("arch", ARCHS)(" GRU"), "gru");
  assertThrows(() => choice("arch", ARCHS)("cnn"), /Unknown arch "cnn": valid values are rnn/);
  assertThrows(() => nameList("arch", ARCHS)(" , "), /Give at least one arch: valid values/);
  assertEquals(nameList("peer", ["torch"], { allowEmpty: true })(""), []);
});
