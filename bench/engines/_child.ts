/**
 * FOR TESTS: running a step in a child process whose environment (and working folder) alone
 * carries what the step needs. `deno test --parallel` runs every test file in one process, so
 * a variable the CUDA emulator reads on each call (`RNNBENCH_EMU_FAIL`, `…_ORDER`, `…_SKIP`),
 * set there, would reach every other file's tests. The child takes its request from
 * {@linkcode TEST_REQUEST_ENV} (not its arguments: a file that reads them is a user-facing entry
 * point, `bench/util/entry_points_test.ts`) and prints its answer as JSON on its last line.
 *
 * @module
 */

/** The variable a child script reads its request from (JSON). */
export const TEST_REQUEST_ENV = "RNNBENCH_TEST_REQUEST";

/**
 * Runs `deno <args>` in a child process (this process's environment changed by `env`; in
 * `cwd`, default this process's) and returns the JSON of the last line it prints.
 * @throws Error with its output when that line is not JSON
 */
export async function denoJson<T>(
  args: string[],
  env: Record<string, string>,
  cwd?: string,
): Promise<T> {
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    env,
    ...(cwd === undefined ? {} : { cwd }),
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  try {
    return JSON.parse(text.split("\n").pop() || "undefined") as T;
  } catch {
    throw new Error(
      `no JSON from deno ${args[0]} (exit ${out.code}): ${text} ` +
        new TextDecoder().decode(out.stderr),
    );
  }
}

/**
 * Runs the child script `script` on `request` (see {@linkcode childMain}), with `env` added to
 * its environment and in `cwd`, and returns what it answered.
 */
export function runChild<T>(
  script: URL,
  request: unknown,
  env: Record<string, string> = {},
  cwd?: string,
): Promise<T> {
  return denoJson<T>(
    ["run", "--allow-all", script.pathname],
    { ...env, [TEST_REQUEST_ENV]: JSON.stringify(request) },
    cwd,
  );
}

/**
 * The body of a child script: `f` of the request in {@linkcode TEST_REQUEST_ENV}, printed as
 * JSON. Call it under `if (import.meta.main)`.
 */
export async function childMain<Q, A>(f: (request: Q) => Promise<A>): Promise<void> {
  const request = JSON.parse(Deno.env.get(TEST_REQUEST_ENV) ?? "null") as Q;
  console.log(JSON.stringify(await f(request)));
}
