/**
 * A sweep of edge shapes of the CUDA engine on the CPU emulator, against the float64
 * reference: rnn, gru and lstm × 1 or 32 layers × hidden 1 or 16 × embedding 1 or 9 ×
 * (B 1, T 1) or (B 33, T 3): logits within 1e-5, every gradient tensor within 1e-4
 * relative (plus 1e-5 of its largest value and 1e-9). About 40 s on 2 cores; three of the
 * shapes run in `cuda_test.ts` on every test run. A shape the kernels refuse (weights that
 * overflow shared memory) is reported with its reason.
 *
 * ```sh
 * deno run -A bench/dev/cuda_edge_sweep.ts
 * ```
 *
 * @module
 */
import { adamConfig } from "../../models/adam.ts";
import { ARCHS } from "../../models/cells.ts";
import { referenceForward, referenceLossAndGrad } from "../../models/reference.ts";
import { assertClose, tinyBatch, tinyLayout, tinyParams } from "../../models/_testing.ts";
import { createCudaEngine } from "../engines/cuda/engine.ts";
import { emulatorTuning } from "../engines/_testing.ts";
import { command, parseOrExit } from "../util/cli_kit.ts";
parseOrExit(
  command(
    "cuda_edge_sweep",
    "Checks edge shapes of the CUDA engine on the CPU emulator against the float64 reference " +
      "(takes no flags).",
  ),
  Deno.args,
);
const t = await emulatorTuning();
let fails = 0, refused = 0, n = 0;
for (const arch of ARCHS) {
  for (const L of [1, 32]) {
    for (const H of [1, 16]) {
      for (const [B, T] of [[1, 1], [33, 3]] as const) {
        for (const E of [1, 9]) {
          const layout = tinyLayout(arch, { layers: L, hiddenSize: H, embedDim: E, vocabSize: 13 });
          const params = tinyParams(layout, 7, 1.0);
          const { ids, labels } = tinyBatch(B, T, 13);
          const what = `${arch} L=${L} H=${H} E=${E} B=${B} T=${T}`;
          n++;
          try {
            const engine = await createCudaEngine(
              {
                model: layout.config,
                layout,
                maxLen: T,
                batchSize: B,
                optimizer: adamConfig(1e-2),
                gradClip: null,
                threads: null,
              },
              0,
              t,
            );
            try {
              engine.setParams(params);
              const got = await engine.predict(ids, B);
              assertClose(
                `${what} logits`,
                got,
                referenceForward(layout, params, ids, B, T).logits,
                { atol: 1e-5, rtol: 0 },
              );
              const g = await engine.lossAndGrad({
                ids,
                labels: Float32Array.from(labels),
                size: B,
              });
              const ref = referenceLossAndGrad(layout, params, ids, labels, T);
              for (const tt of layout.tensors) {
                const w = ref.grad.subarray(tt.offset, tt.offset + tt.size);
                const scale = w.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
                assertClose(
                  `${what} d/d${tt.name}`,
                  g.grad.subarray(tt.offset, tt.offset + tt.size),
                  w,
                  { atol: 1e-5 * scale + 1e-9, rtol: 1e-4 },
                );
              }
            } finally {
              engine.dispose();
            }
          } catch (e) {
            const msg = e instanceof Error ? e.message : String(e);
            if (msg.startsWith("Cannot use engine cuda:")) {
              refused++;
              console.log(`refused ${what}: ${msg}`);
            } else {
              fails++;
              console.log(`FAIL ${what}: ${msg.slice(0, 400)}`);
            }
          }
        }
      }
    }
  }
}
console.log(`${n - fails - refused} of ${n} shapes match, ${refused} refused, ${fails} mismatched`);
if (fails > 0) Deno.exitCode = 1;
