/**
 * FOR TESTS (`emulator_test.ts`): launches of planted kernels on the emulator, run in a
 * child process because each sets environment variables the fake driver reads on every call
 * (`RNNBENCH_EMU_ORDER`, and `RNNBENCH_EMU_SKIP`, whose `*` skips every kernel): set in the
 * `deno test --parallel` process, they would change the emulated tests of other files running
 * there at the same time. Prints `{ "results": … }` as JSON on its last line, one
 * {@linkcode LaunchResult} per launch, in order.
 *
 * Run by `runChild` (`../../_child.ts`) on a {@linkcode LaunchRequest}.
 *
 * @module
 */
import { emulatorToolchain } from "../compiler.ts";
import { CudaContext, openDriver } from "../driver.ts";
import { childMain } from "../../_child.ts";

/** One launch: a kernel of the source, its int argument, geometry, order and environment. */
export interface PlantedLaunch {
  readonly kernel: string;
  /** The kernel's second argument (its first is the output buffer of `grid × block` floats). */
  readonly arg: number;
  readonly grid: number;
  readonly block: number;
  /** `RNNBENCH_EMU_ORDER` at the launch. */
  readonly order: string;
  /** Set from before the output's memset to after the launch (e.g. `RNNBENCH_EMU_SKIP`). */
  readonly env?: Readonly<Record<string, string>>;
}

/** What the child does: build `source` with the emulator, then each launch in turn. */
export interface LaunchRequest {
  /** The emulator's fake driver and header, and the kernel cache (the parent's tuning). */
  readonly driverPath: string;
  readonly headerPath: string;
  readonly cacheDir: string;
  /** Kernels, each with its `rb_emu_k_<name>` entry point. */
  readonly source: string;
  readonly launches: readonly PlantedLaunch[];
}

/**
 * A launch's output as the bits of its floats (JSON has no NaN), or the launch error's text
 * (the error, then `rb_emu_last_error`, after ` | `).
 */
export type LaunchResult = { readonly bits: number[] } | { readonly error: string };

/**
 * Runs the launches of `r` in this process, which it changes the environment of.
 *
 * @param r the request
 * @returns one result per launch
 */
export async function launchPlanted(r: LaunchRequest): Promise<LaunchResult[]> {
  const built = await emulatorToolchain(r.headerPath, r.cacheDir)
    .build(r.source, "emulator self-test kernels");
  const opened = openDriver(r.driverPath);
  if (!opened.ok) throw new Error(opened.reason);
  const lastError = Deno.dlopen(r.driverPath, {
    rb_emu_last_error: { parameters: [], result: "pointer" },
  });
  try {
    const results: LaunchResult[] = [];
    for (const { kernel, arg, grid, block, order, env = {} } of r.launches) {
      const ctx = new CudaContext(opened.driver, 0);
      const n = grid * block;
      const ptr = ctx.alloc(4 * n, "out");
      for (const [k, v] of Object.entries(env)) Deno.env.set(k, v);
      try {
        ctx.memset32(ptr, 0, n, "out");
        const fn = ctx.getFunction(ctx.loadModule(built.image, "planted kernels"), kernel);
        const slots = new ArrayBuffer(16);
        new DataView(slots).setBigUint64(0, ptr, true);
        new DataView(slots).setInt32(8, arg, true);
        Deno.env.set("RNNBENCH_EMU_ORDER", order);
        try {
          ctx.launch(fn, kernel, { grid, block, sharedBytes: 0 }, slots);
        } catch (e) {
          const p = lastError.symbols.rb_emu_last_error();
          const why = p ? new Deno.UnsafePointerView(p).getCString() : "";
          results.push({ error: `${e instanceof Error ? e.message : e} | ${why}` });
          continue;
        } finally {
          Deno.env.delete("RNNBENCH_EMU_ORDER");
        }
        const out = new Float32Array(n);
        ctx.dtoh(out, ptr, "out");
        results.push({ bits: Array.from(new Uint32Array(out.buffer)) });
      } finally {
        for (const k of Object.keys(env)) Deno.env.delete(k);
        ctx.free(ptr);
      }
    }
    return results;
  } finally {
    lastError.close();
  }
}

if (import.meta.main) {
  await childMain(async (r: LaunchRequest) => ({ results: await launchPlanted(r) }));
}
