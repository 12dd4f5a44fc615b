import * as ort from "onnxruntime-node";
import { ARCHS, cellGraph } from "../cells.ts";
import { paramLayout, READOUTS } from "../classifier.ts";
import { referenceForward } from "../reference.ts";
import { assertClose, tinyBatch, tinyLayout, tinyParams } from "../_testing.ts";
import { nativeMapping } from "./_lower_builtin.ts";
import {
  exportOnnx,
  ONNX_INPUT_NAME,
  ONNX_IR_VERSION,
  ONNX_OPSET,
  ONNX_OUTPUT_NAME,
  type OnnxExportOptions,
  onnxModel,
} from "./export.ts";
import { resolveScanOptions, scanFormOf, type ScanOptions } from "./scan_options.ts";
import { encodeModel, type GraphDef, readModelInfo } from "./proto.ts";

const T = 7;

async function runOnnx(bytes: Uint8Array, ids: Int32Array, B: number): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: "all" });
  try {
    const feed = new ort.Tensor("int64", BigInt64Array.from(ids, (v) => BigInt(v)), [B, T]);
    const out = await s.run({ [ONNX_INPUT_NAME]: feed });
    return out[ONNX_OUTPUT_NAME]!.data as Float32Array;
  } finally {
    await s.release();
  }
}

const VARIANTS: { label: string; opts: Omit<OnnxExportOptions, "maxLen" | "metadata"> }[] = [
  { label: "scan (default: auto schedule, fused gates, input table)", opts: { style: "scan" } },
  {
    label: "scan, auto switching at batch 4 (B=5 timestep, B=3 wavefront)",
    opts: { style: "scan", scan: { wavefrontBelow: 4 } },
  },
  { label: "scan, timestep", opts: { style: "scan", scan: { schedule: "timestep" } } },
  {
    label: "scan, batch-major, auto switching at batch 4",
    opts: { style: "scan", scan: { wavefrontBelow: 4, layout: "batch" } },
  },
  {
    label: "scan, timestep, hoisted input matmul",
    opts: { style: "scan", scan: { schedule: "timestep", hoist: "matmul" } },
  },
  {
    label: "scan, timestep, no hoisting",
    opts: { style: "scan", scan: { schedule: "timestep", hoist: "none" } },
  },
  { label: "scan, one Gemm per gate", opts: { style: "scan", scan: { gemm: "gate" } } },
  {
    label: "scan, one Gemm per gate, hoisted matmul",
    opts: { style: "scan", scan: { gemm: "gate", hoist: "matmul" } },
  },
  { label: "scan, wavefront", opts: { style: "scan", scan: { schedule: "wavefront" } } },
  {
    label: "scan, wavefront, no hoisting",
    opts: { style: "scan", scan: { schedule: "wavefront", hoist: "none" } },
  },
  { label: "scan, one ONNX op per IR op", opts: { style: "scan", scan: { gemm: "none" } } },
  {
    label: "scan, input transposed before the loop, biases by Gemm C",
    opts: { style: "scan", scan: { wavefrontBelow: 4, transpose: "outer", bias: "gemm" } },
  },
  {
    label: "scan, table gathered in the loop, auto switching at batch 4",
    opts: { style: "scan", scan: { wavefrontBelow: 4, gather: "step" } },
  },
  {
    label: "scan, activations after the split, auto switching at batch 4",
    opts: { style: "scan", scan: { wavefrontBelow: 4, activation: "gate" } },
  },
  {
    label: "scan, wavefront, input transposed in the loop",
    opts: { style: "scan", scan: { schedule: "wavefront", transpose: "loop" } },
  },
  {
    label: "scan, hoisted matmul transposed before the loop",
    opts: { style: "scan", scan: { wavefrontBelow: 4, hoist: "matmul", transpose: "outer" } },
  },
  {
    label: "scan, wavefront, biases by Add, no hoisting",
    opts: { style: "scan", scan: { schedule: "wavefront", hoist: "none", bias: "gemm" } },
  },
  {
    label: "scan, one Gemm per gate, no hoisting (ones row in layer 0 too)",
    opts: { style: "scan", scan: { gemm: "gate", hoist: "none", schedule: "timestep" } },
  },
  {
    label: "scan, batch-major, timestep",
    opts: { style: "scan", scan: { layout: "batch", schedule: "timestep" } },
  },
  {
    label: "scan, batch-major, wavefront",
    opts: { style: "scan", scan: { layout: "batch", schedule: "wavefront" } },
  },
  {
    label: "scan, batch-major, one Gemm per gate, hoisted matmul",
    opts: { style: "scan", scan: { layout: "batch", gemm: "gate", hoist: "matmul" } },
  },
  {
    label: "scan, batch-major, one ONNX op per IR op",
    opts: { style: "scan", scan: { layout: "batch", gemm: "none" } },
  },
  { label: "native", opts: { style: "native" } },
];

/** Test-name suffix of a readout: none for the original's "last". */
const readoutLabel = (readout: string) => readout === "last" ? "" : ` (readout ${readout})`;

// Every variant with each readout: "max" makes every style and form return the top layer's
// maximum over time (checked against the reference's, which differs from its "last").
for (const readout of READOUTS) {
  for (const arch of ARCHS) {
    for (const { label, opts } of VARIANTS) {
      Deno.test(
        `ONNX export of ${arch}, ${label}, matches the float64 reference at two batch sizes${
          readoutLabel(readout)
        }`,
        async () => {
          const layout = tinyLayout(arch, { readout });
          const p = tinyParams(layout);
          const bytes = exportOnnx(layout, p, {
            ...opts,
            maxLen: T,
            metadata: { profile: "smoke" },
          });
          for (const [B, seed] of [[5, 3], [3, 11]] as const) {
            const { ids } = tinyBatch(B, T, layout.config.vocabSize, seed);
            const want = referenceForward(layout, p, ids, B, T).logits;
            const got = await runOnnx(bytes, ids, B);
            assertClose(`${arch} ${label}${readoutLabel(readout)} logits (B=${B})`, got, want, {
              atol: 1e-5,
              rtol: 0,
            });
            const spread = Math.max(...got) - Math.min(...got);
            if (!(spread > 1e-3)) {
              throw new Error(`logits barely differ between sequences: ${spread}`);
            }
            if (readout !== "last") assertReadoutMatters(layout, p, ids, B, T);
          }
        },
      );
    }
  }
}

/**
 * Throws unless the reference's logits with the readout "last" differ from those of the
 * model's own readout, so that a test of that readout could not pass with "last".
 */
function assertReadoutMatters(
  layout: ReturnType<typeof tinyLayout>,
  p: Float64Array,
  ids: Int32Array,
  B: number,
  steps: number,
): void {
  const own = referenceForward(layout, p, ids, B, steps).logits;
  const last =
    referenceForward(paramLayout({ ...layout.config, readout: "last" }), p, ids, B, steps)
      .logits;
  const diff = Math.max(...Array.from(own, (z, i) => Math.abs(z - last[i]!)));
  if (!(diff > 1e-3)) throw new Error(`the readout changes the logits by only ${diff}`);
}

for (const readout of READOUTS) {
  for (const layers of [1, 2]) {
    Deno.test(
      `wavefront ONNX export of a ${layers}-layer lstm matches the reference${
        readoutLabel(readout)
      }`,
      async () => {
        const layout = tinyLayout("lstm", { layers, readout });
        const p = tinyParams(layout);
        const bytes = exportOnnx(layout, p, {
          style: "scan",
          maxLen: T,
          metadata: {},
          scan: { schedule: "wavefront" },
        });
        const { ids } = tinyBatch(4, T, layout.config.vocabSize);
        const want = referenceForward(layout, p, ids, 4, T).logits;
        assertClose(
          `${layers} layers${readoutLabel(readout)}`,
          await runOnnx(bytes, ids, 4),
          want,
          {
            atol: 1e-5,
            rtol: 0,
          },
        );
      },
    );
  }
}

// Layer blocks of the wavefront: 5 layers, so layers 1…4 run as 1, 2 or 4 blocks; with T = 7
// steps and also with fewer steps (2) than blocks, in both layouts and both transposes.
for (const [arch, readout] of READOUTS.flatMap((r) => ARCHS.map((a) => [a, r] as const))) {
  Deno.test(
    `wavefront ONNX export of a 5-layer ${arch} in 1, 2 and 4 blocks matches the reference${
      readoutLabel(readout)
    }`,
    async () => {
      const layout = tinyLayout(arch, { layers: 5, readout });
      const p = tinyParams(layout);
      const cases: [ScanOptions, number][] = [
        [{ schedule: "wavefront", blocks: 1 }, T],
        [{ schedule: "wavefront", blocks: 2 }, T],
        [{ schedule: "wavefront", blocks: 4, transpose: "loop" }, T],
        [{ schedule: "wavefront", blocks: 2, layout: "batch" }, T],
        [{ schedule: "wavefront", blocks: 2, gather: "step" }, T],
        [{ blocks: 2, wavefrontBelow: 4 }, T], // B = 5: the large-batch branch
        [{ schedule: "wavefront", blocks: 4 }, 2],
        [{ schedule: "wavefront", blocks: 2, transpose: "loop" }, 2],
      ];
      for (const [scan, steps] of cases) {
        const bytes = exportOnnx(layout, p, { style: "scan", maxLen: steps, metadata: {}, scan });
        const { ids } = tinyBatch(5, steps, layout.config.vocabSize);
        const want = referenceForward(layout, p, ids, 5, steps).logits;
        const s = await ort.InferenceSession.create(bytes);
        try {
          const feed = new ort.Tensor("int64", BigInt64Array.from(ids, (v) => BigInt(v)), [
            5,
            steps,
          ]);
          const got = (await s.run({ [ONNX_INPUT_NAME]: feed }))[ONNX_OUTPUT_NAME]!
            .data as Float32Array;
          assertClose(
            `${arch}${readoutLabel(readout)} ${JSON.stringify(scan)} T=${steps}`,
            got,
            want,
            {
              atol: 1e-5,
              rtol: 0,
            },
          );
          if (readout !== "last") assertReadoutMatters(layout, p, ids, 5, steps);
        } finally {
          await s.release();
        }
      }
    },
  );
}

Deno.test("schedule auto holds the one-layer-a-block wavefront and a large-batch form per cell", () => {
  const schedule = (arch: "rnn" | "gru" | "lstm", layers: number, scan: ScanOptions = {}) => {
    const layout = tinyLayout(arch, { layers });
    return onnxModel(layout, tinyParams(layout), { style: "scan", maxLen: T, metadata: {}, scan })
      .metadata["scanSchedule"];
  };
  const cases: [string | undefined, string][] = [
    [schedule("lstm", 25), "wavefront/24 below 160; wavefront/6 from 160"],
    [schedule("gru", 25), "wavefront/24 below 160; wavefront/6 from 160"],
    // One activated matmul: ONNX Runtime fuses its Gemm with tanh, so timestep for large.
    [schedule("rnn", 25), "wavefront/24 below 160; timestep from 160"],
    [schedule("lstm", 11), "wavefront/10 below 160; wavefront/5 from 160"],
    [
      schedule("lstm", 25, { blocks: 8, wavefrontBelow: 100 }),
      "wavefront/24 below 100; wavefront/8 from 100",
    ],
    [schedule("lstm", 25, { schedule: "wavefront" }), "wavefront/24"],
    [schedule("lstm", 25, { schedule: "wavefront", blocks: 3 }), "wavefront/3"],
    [schedule("lstm", 25, { schedule: "timestep" }), "timestep"],
    [schedule("lstm", 1), "timestep"],
  ];
  for (const [got, want] of cases) {
    if (got !== want) throw new Error(`scanSchedule "${got}", want "${want}"`);
  }
});

for (
  const [layers, scan, message] of [
    [5, { blocks: 3 }, /blocks 3: it must divide the 4 layers above layer 0 \(one of 1, 2, 4\)/],
    [1, { blocks: 1 }, /blocks 1: a 1-layer model has no layers above layer 0/],
    [5, { blocks: 0 }, /blocks 0: it must be "auto" or a positive integer/],
    [5, { blocks: 1.5 }, /blocks 1.5: it must be "auto" or a positive integer/],
    [5, { blocks: 2, schedule: "timestep" }, /blocks 2: .* need schedule "wavefront" or "auto"/],
  ] as const
) {
  Deno.test(`ONNX export of ${layers} layers refuses ${JSON.stringify(scan)}`, () => {
    const layout = tinyLayout("lstm", { layers });
    try {
      exportOnnx(layout, tinyParams(layout), { style: "scan", maxLen: T, metadata: {}, scan });
    } catch (e) {
      if (!message.test((e as Error).message)) throw e;
      return;
    }
    throw new Error("no error");
  });
}

Deno.test("ONNX export accepts float32 parameters like float64 ones", async () => {
  const layout = tinyLayout("gru");
  const p = tinyParams(layout);
  const { ids } = tinyBatch(4, T, layout.config.vocabSize);
  const a = await runOnnx(
    exportOnnx(layout, p, { style: "scan", maxLen: T, metadata: {} }),
    ids,
    4,
  );
  const b = await runOnnx(
    exportOnnx(layout, Float32Array.from(p), { style: "scan", maxLen: T, metadata: {} }),
    ids,
    4,
  );
  assertClose("float32 vs float64 params", a, b, { atol: 1e-6, rtol: 0 });
});

Deno.test("ONNX export declares IR version, opset, dynamic batch and metadata", () => {
  const layout = tinyLayout("lstm");
  const bytes = exportOnnx(layout, tinyParams(layout), {
    style: "native",
    maxLen: T,
    metadata: { profile: "smoke", vocabHash: "abc123", suiteVersion: "0.1.0" },
  });
  const info = readModelInfo(bytes);
  if (info.irVersion !== ONNX_IR_VERSION) throw new Error(`IR version ${info.irVersion}`);
  if (info.opsets[0]?.version !== ONNX_OPSET || info.opsets[0].domain !== "") {
    throw new Error(`opsets ${JSON.stringify(info.opsets)}`);
  }
  const want: Record<string, string> = {
    profile: "smoke",
    vocabHash: "abc123",
    suiteVersion: "0.1.0",
    architecture: "lstm",
    exportStyle: "native",
    maxLen: String(T),
    vocabSize: "11",
    layers: "3",
  };
  for (const [k, v] of Object.entries(want)) {
    if (info.metadata[k] !== v) throw new Error(`metadata ${k} = ${info.metadata[k]}, want ${v}`);
  }
  if (info.producerName !== "rnnbench" || info.producerVersion !== "0.1.0") {
    throw new Error(`producer ${info.producerName} ${info.producerVersion}`);
  }
  const input = JSON.stringify(info.inputs), output = JSON.stringify(info.outputs);
  if (input !== JSON.stringify([{ name: "ids", elemType: 7, dims: ["batch", T] }])) {
    throw new Error(`inputs ${input}`);
  }
  if (output !== JSON.stringify([{ name: "logits", elemType: 1, dims: ["batch"] }])) {
    throw new Error(`outputs ${output}`);
  }
});

Deno.test("scan exports name their resolved graph form in the metadata, native ones do not", () => {
  const layout = tinyLayout("gru");
  const meta = (opts: Omit<OnnxExportOptions, "maxLen" | "metadata">) =>
    readModelInfo(exportOnnx(layout, tinyParams(layout), { ...opts, maxLen: T, metadata: {} }))
      .metadata;
  const want = "gemm=group hoist=table schedule=auto wavefrontBelow=160 layout=feature " +
    "gather=outer transpose=auto bias=ones activation=group blocks=auto";
  const got = meta({ style: "scan" })["scanForm"];
  if (got !== want) throw new Error(`default scanForm "${got}", want "${want}"`);
  if (scanFormOf(resolveScanOptions()) !== want) throw new Error("resolveScanOptions() differs");
  const batch = meta({ style: "scan", scan: { layout: "batch", schedule: "timestep" } });
  if (!/layout=batch .*bias=gemm/.test(batch["scanForm"] ?? "")) {
    throw new Error(`batch-major scanForm "${batch["scanForm"]}"`);
  }
  if ("scanForm" in meta({ style: "native" })) throw new Error("native export has a scanForm");
});

Deno.test("ONNX export refuses metadata that contradicts the model", () => {
  const layout = tinyLayout("rnn");
  try {
    exportOnnx(layout, tinyParams(layout), {
      style: "scan",
      maxLen: T,
      metadata: { architecture: "lstm" },
    });
  } catch (e) {
    if (!/metadata "architecture" is "lstm" but the model says "rnn"/.test((e as Error).message)) {
      throw e;
    }
    return;
  }
  throw new Error("no error");
});

Deno.test("ONNX export refuses a parameter array of the wrong length", () => {
  const layout = tinyLayout("rnn");
  try {
    exportOnnx(layout, new Float32Array(3), { style: "scan", maxLen: T, metadata: {} });
  } catch (e) {
    if (!/params has 3 values/.test((e as Error).message)) throw e;
    return;
  }
  throw new Error("no error");
});

Deno.test("native mapping covers exactly the weights each cell declares", () => {
  for (const arch of ARCHS) {
    const declared = cellGraph(arch).params.map((p) => p.name).sort().join();
    const mapped = nativeMapping(arch).gates.flatMap((g) => [g.x, g.h, g.b]).sort().join();
    if (declared !== mapped) throw new Error(`${arch}: ${mapped} vs ${declared}`);
  }
});

Deno.test("fused scan body has fewer nodes than one ONNX op per IR op", () => {
  const layout = tinyLayout("lstm");
  const p = tinyParams(layout);
  const count = (fuseGates: boolean) => {
    const m = onnxModel(layout, p, {
      style: "scan",
      maxLen: T,
      metadata: {},
      scan: fuseGates ? { schedule: "timestep" } : { gemm: "none" },
    });
    const scan = m.graph.nodes.find((n) => n.op === "Scan")!;
    const body = scan.attrs!["body"] as { g: GraphDef };
    return body.g.nodes.length;
  };
  const fused = count(true), plain = count(false);
  if (!(fused < plain)) throw new Error(`fused ${fused} nodes, plain ${plain}`);
});

Deno.test("default scan body is feature-major: states [H, batch], gates split on axis 0", () => {
  const layout = tinyLayout("lstm");
  const H = layout.config.hiddenSize;
  const body = (opts: OnnxExportOptions["scan"]) => {
    const m = onnxModel(layout, tinyParams(layout), {
      style: "scan",
      maxLen: T,
      metadata: {},
      scan: { schedule: "timestep", ...opts },
    });
    const scan = m.graph.nodes.find((n) => n.op === "Scan")!;
    return (scan.attrs!["body"] as { g: GraphDef }).g;
  };
  const splitAxes = (g: GraphDef) =>
    g.nodes.filter((n) => n.op === "Split").map((n) => (n.attrs!["axis"] as { i: number }).i);
  const fm = body({}), bm = body({ layout: "batch" });
  const dims = JSON.stringify(fm.inputs[0]!.dims);
  if (dims !== JSON.stringify([H, "batch"])) throw new Error(`feature-major state dims ${dims}`);
  if (JSON.stringify(bm.inputs[0]!.dims) !== JSON.stringify(["batch", H])) {
    throw new Error(`batch-major state dims ${JSON.stringify(bm.inputs[0]!.dims)}`);
  }
  if (!splitAxes(fm).every((a) => a === 0) || splitAxes(fm).length === 0) {
    throw new Error(`feature-major Split axes ${splitAxes(fm)}`);
  }
  if (splitAxes(bm).some((a) => a === 0)) {
    throw new Error(`batch-major Split axes ${splitAxes(bm)}`);
  }
});

Deno.test("default scan body transposes each step's input and adds biases through a ones row", () => {
  const layout = tinyLayout("lstm");
  const { hiddenSize: H, vocabSize: V, layers: L } = layout.config;
  const model = (scan: ScanOptions) =>
    onnxModel(layout, tinyParams(layout), {
      style: "scan",
      maxLen: T,
      metadata: {},
      scan: { schedule: "timestep", ...scan },
    });
  const bodyOf = (m: ReturnType<typeof model>) =>
    (m.graph.nodes.find((n) => n.op === "Scan")!.attrs!["body"] as { g: GraphDef }).g;
  const has = (g: GraphDef, op: string) => g.nodes.some((n) => n.op === op);
  const dflt = model({}), old = model({ transpose: "outer", bias: "gemm" });
  const step = model({ gather: "step" });
  const body = bodyOf(dflt), oldBody = bodyOf(old), stepBody = bodyOf(step);
  const scanIn = (g: GraphDef) => g.inputs[g.inputs.length - 1]!;
  // Default: rows gathered before the loop, each step's [B, 4H] transposed in the body.
  if (JSON.stringify(scanIn(body).dims) !== JSON.stringify(["batch", 4 * H])) {
    throw new Error(`scan input dims ${JSON.stringify(scanIn(body).dims)}`);
  }
  if (!has(dflt.graph, "Gather") || has(body, "Gather")) {
    throw new Error("default: Gather misplaced");
  }
  const bodyTransposes = body.nodes.filter((n) => n.op === "Transpose").length;
  if (bodyTransposes !== 1) throw new Error(`${bodyTransposes} Transposes in the body, want 1`);
  // transpose "outer": the scan input is already feature-major, the body transposes nothing.
  if (JSON.stringify(scanIn(oldBody).dims) !== JSON.stringify([4 * H, "batch"])) {
    throw new Error(`transpose "outer": scan input dims ${JSON.stringify(scanIn(oldBody).dims)}`);
  }
  if (has(oldBody, "Transpose")) throw new Error(`transpose "outer": a Transpose in the body`);
  // The wavefront form (small batches) transposes before its loop unless told otherwise.
  if (has(bodyOf(model({ schedule: "wavefront" })), "Transpose")) {
    throw new Error(`wavefront: a Transpose in the body`);
  }
  if (!has(bodyOf(model({ schedule: "wavefront", transpose: "loop" })), "Transpose")) {
    throw new Error(`wavefront, transpose "loop": no Transpose in the body`);
  }
  // gather "step": the scan input is one step's ids; the body gathers the table rows.
  const ids = scanIn(stepBody);
  if (ids.elemType !== "int64" || JSON.stringify(ids.dims) !== JSON.stringify(["batch"])) {
    throw new Error(`gather "step": scan input ${JSON.stringify(ids)}`);
  }
  if (!has(stepBody, "Gather") || has(step.graph, "Gather")) {
    throw new Error(`gather "step": Gather misplaced`);
  }
  // Ones row: layers 1…L−1 multiply [x; h; 1] by weights [4H, 2H + 1] and take no C input.
  const shapes = body.initializers.map((t) => JSON.stringify(t.dims));
  const want = JSON.stringify([4 * H, 2 * H + 1]);
  if (shapes.filter((d) => d === want).length !== L - 1) {
    throw new Error(`no [${4 * H}, ${2 * H + 1}] weights per layer: ${shapes}`);
  }
  const withC = body.nodes.filter((n) => n.op === "Gemm" && n.inputs.length === 3).length;
  if (withC !== 1) throw new Error(`${withC} Gemms with C (want 1: layer 0's table slice)`);
  const oldWithC = oldBody.nodes.filter((n) => n.op === "Gemm" && n.inputs.length === 3).length;
  if (oldWithC !== L) throw new Error(`bias "gemm": ${oldWithC} Gemms with C, want ${L}`);
  const table = dflt.graph.initializers.find((t) => t.name === "layer0.input_table")!;
  if (JSON.stringify(table.dims) !== JSON.stringify([V, 4 * H])) {
    throw new Error(`table dims ${table.dims}`);
  }
});

for (
  const [scan, message] of [
    [{ gather: "step", hoist: "matmul" }, /gather "step": it needs hoist "table", got "matmul"/],
    [{ bias: "ones", layout: "batch" }, /bias "ones": it needs layout "feature"/],
    [{ bias: "ones", gemm: "none" }, /bias "ones": it needs .* gemm "none"/],
    [{ bias: "zero" }, /unknown bias "zero" \(valid: ones, gemm\)/],
    [{ gather: "later" }, /unknown gather "later" \(valid: outer, step\)/],
    [{ transpose: "never" }, /unknown transpose "never" \(valid: auto, loop, outer\)/],
    [{ layout: "rows" }, /unknown layout "rows" \(valid: feature, batch\)/],
    [{ activation: "late" }, /unknown activation "late" \(valid: group, gate\)/],
    [{ gemm: "fused" }, /unknown gemm "fused" \(valid: group, gate, none\)/],
    [{ schedule: "never" }, /unknown schedule "never" \(valid: auto, timestep, wavefront\)/],
    [{ hoist: "up" }, /unknown hoist "up" \(valid: table, matmul, none\)/],
    [{ wavefrontBelow: 0 }, /wavefrontBelow must be a positive integer/],
    [{ gather: "step", transpose: "outer" }, /gather "step": .* cannot take transpose "outer"/],
  ] as const
) {
  Deno.test(`ONNX export refuses scan options ${JSON.stringify(scan)}`, () => {
    const layout = tinyLayout("gru");
    try {
      exportOnnx(layout, tinyParams(layout), {
        style: "scan",
        maxLen: T,
        metadata: {},
        scan: scan as ScanOptions,
      });
    } catch (e) {
      if (!message.test((e as Error).message)) throw e;
      return;
    }
    throw new Error("no error");
  });
}

Deno.test("a group whose gates share one activation runs it once, before the split (GRU z, r)", () => {
  const count = (arch: "gru" | "lstm", scan: ScanOptions, op: string) => {
    const layout = tinyLayout(arch);
    const m = onnxModel(layout, tinyParams(layout), {
      style: "scan",
      maxLen: T,
      metadata: {},
      scan: { schedule: "timestep", ...scan },
    });
    const body = (m.graph.nodes.find((n) => n.op === "Scan")!.attrs!["body"] as { g: GraphDef }).g;
    return body.nodes.filter((n) => n.op === op).length;
  };
  const L = tinyLayout("gru").config.layers;
  // GRU: z and r (one group, both sigmoid): one Sigmoid per layer instead of two.
  const gru = count("gru", {}, "Sigmoid"),
    gruGate = count("gru", { activation: "gate" }, "Sigmoid");
  if (gru !== L || gruGate !== 2 * L) throw new Error(`GRU Sigmoids ${gru} / ${gruGate}`);
  // LSTM: its one group mixes sigmoid and tanh gates, so nothing changes.
  const lstm = count("lstm", {}, "Sigmoid"),
    lstmGate = count("lstm", { activation: "gate" }, "Sigmoid");
  if (lstm !== lstmGate || lstm !== 3 * L) throw new Error(`LSTM Sigmoids ${lstm} / ${lstmGate}`);
});

Deno.test("the readout max is named in the metadata and docString; last exports name none", () => {
  for (const style of ["scan", "native"] as const) {
    const max = tinyLayout("gru", { readout: "max" }), last = tinyLayout("gru");
    const model = (layout: typeof max, metadata: Record<string, string> = {}) =>
      onnxModel(layout, tinyParams(layout), { style, maxLen: T, metadata });
    const m = model(max);
    if (m.metadata["readout"] !== "max") {
      throw new Error(`${style}: readout ${m.metadata["readout"]}`);
    }
    if (!/readout "max"/.test(m.docString ?? "")) {
      throw new Error(`${style}: docString ${m.docString}`);
    }
    if (readModelInfo(encodeModel(m)).metadata["readout"] !== "max") {
      throw new Error(`${style}: readout not in the file's metadata`);
    }
    const l = model(last);
    if ("readout" in l.metadata || /readout/.test(l.docString ?? "")) {
      throw new Error(`${style}: a "last" export names a readout`);
    }
    // A caller's readout must agree with the model's, named in the metadata or not.
    model(max, { readout: "max" });
    model(last, { readout: "last" });
    for (const [layout, said, says] of [[max, "last", "max"], [last, "max", "last"]] as const) {
      try {
        model(layout, { readout: said });
      } catch (e) {
        const want = `metadata "readout" is "${said}" but the model says "${says}"`;
        if (!(e as Error).message.includes(want)) throw e;
        continue;
      }
      throw new Error(`${style}: metadata readout ${said} accepted for a ${says} model`);
    }
  }
});

Deno.test("the readout max carries a running maximum through the Scans, no [T, B, H] output", () => {
  for (const arch of ARCHS) {
    const layout = tinyLayout(arch, { readout: "max" }), p = tinyParams(layout);
    const { layers: L } = layout.config;
    const S = cellGraph(arch).states.length;
    const graph = (scan: ScanOptions) =>
      onnxModel(layout, p, { style: "scan", maxLen: T, metadata: {}, scan }).graph;
    const bodyOf = (n: GraphDef["nodes"][number]) => (n.attrs!["body"] as { g: GraphDef }).g;
    // Timestep: one state per layer and cell state, and the maximum; every output a state.
    const [step] = graph({ schedule: "timestep" }).nodes.filter((n) => n.op === "Scan");
    if (step!.outputs.length !== L * S + 1 || step!.inputs.length !== L * S + 2) {
      throw new Error(
        `${arch} timestep Scan: ${step!.inputs.length} in, ${step!.outputs.length} out`,
      );
    }
    if (bodyOf(step!).nodes.filter((n) => n.op === "Max").length !== 1) {
      throw new Error(`${arch} timestep body: not one Max`);
    }
    // Wavefront (L − 1 blocks of one layer): layer 0's states and the blocks' stacked ones,
    // in the ramp as with "last", in the run with the maximum as one more state.
    const [ramp, run] = graph({ schedule: "wavefront" }).nodes.filter((n) => n.op === "Scan");
    const states = 2 * S;
    if (ramp!.outputs.length !== states || run!.outputs.length !== states + 1) {
      throw new Error(
        `${arch} wavefront Scans: ${ramp!.outputs.length}, ${run!.outputs.length} out`,
      );
    }
    if (bodyOf(ramp!).nodes.some((n) => n.op === "Max")) {
      throw new Error(`${arch}: Max in the ramp`);
    }
    if (bodyOf(run!).nodes.filter((n) => n.op === "Max").length !== 1) {
      throw new Error(`${arch} wavefront run body: not one Max`);
    }
    // Native: the top layer's Y reduced over the timesteps.
    const native = onnxModel(layout, p, { style: "native", maxLen: T, metadata: {} }).graph;
    if (native.nodes.filter((n) => n.op === "ReduceMax").length !== 1) {
      throw new Error(`${arch} native: not one ReduceMax`);
    }
  }
});
