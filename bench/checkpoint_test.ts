import { writeFileAtomic } from "./util/atomic.ts";
import {
  type Checkpoint,
  decodeCheckpoint,
  encodeCheckpoint,
  readCheckpoint,
} from "./checkpoint.ts";

function sample(): Checkpoint {
  const n = 5;
  return {
    header: {
      runId: "r",
      configKey: "k",
      epoch: 0,
      epochs: [{
        epoch: 0,
        trainLoss: null,
        trainAccuracy: null,
        testLoss: 0.69,
        testAccuracy: 0.5,
        testPredictedNegativeFraction: 0.4,
        trainSeconds: null,
        evalSeconds: 0.1,
      }],
      timeToAccuracy: null,
      step: 3,
      paramCount: n,
    },
    params: Float32Array.of(1, 2, 3, 4, 5),
    m: Float32Array.of(0.1, 0.2, 0.3, 0.4, 0.5),
    v: Float32Array.of(1e-3, 2e-3, 3e-3, 4e-3, 5e-3),
  };
}

Deno.test("a checkpoint round-trips bit for bit", () => {
  const c = sample();
  const d = decodeCheckpoint("x", encodeCheckpoint(c));
  if (JSON.stringify(d.header) !== JSON.stringify(c.header)) throw new Error("header differs");
  for (const k of ["params", "m", "v"] as const) {
    if (d[k].join() !== c[k].join()) throw new Error(`${k} differs`);
  }
});

Deno.test("truncated, foreign or corrupt checkpoints are refused with the file named", () => {
  const good = encodeCheckpoint(sample());
  const bad: [Uint8Array, RegExp][] = [
    [good.subarray(0, good.length - 3), /truncated/],
    [good.subarray(0, 10), /truncated/],
    [new TextEncoder().encode("not a checkpoint at all"), /not an rnnbench checkpoint/],
    [
      (() => {
        const b = good.slice();
        new DataView(b.buffer).setUint32(8, 99, true);
        return b;
      })(),
      /format version 99/,
    ],
    [
      (() => {
        const c = sample();
        c.v[4] = NaN; // written so, with a matching checksum
        return encodeCheckpoint(c);
      })(),
      /non-finite/,
    ],
  ];
  for (const [bytes, want] of bad) {
    try {
      decodeCheckpoint("ck.bin", bytes);
      throw new Error(`accepted a bad checkpoint (${want})`);
    } catch (e) {
      const msg = (e as Error).message;
      if (!msg.includes('"ck.bin"') || !want.test(msg)) throw new Error(`bad message: ${msg}`);
    }
  }
});

Deno.test("a crash between writing and renaming leaves the previous file intact", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/ck.bin`;
    await writeFileAtomic(path, encodeCheckpoint(sample()));
    const next = sample();
    next.params[0] = 42;
    await writeFileAtomic(path, encodeCheckpoint(next), {
      beforeRename: () => {
        throw new Error("injected crash");
      },
    }).then(() => {
      throw new Error("the injected crash did not surface");
    }, (e) => {
      if (!/injected crash/.test((e as Error).message)) throw e;
    });
    const back = await readCheckpoint(path);
    if (back?.params[0] !== 1) throw new Error(`previous file changed: ${back?.params[0]}`);
    const left = [...Deno.readDirSync(dir)].map((e) => e.name);
    if (left.length !== 1) throw new Error(`temporary files left behind: ${left}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a checkpoint with 4 KiB of zeros in the middle, or one changed digit in its header, is refused by its checksum", () => {
  const n = 3000; // 36 KB of arrays: the zeros land inside them
  const c = sample();
  c.header.paramCount = n;
  c.params = Float32Array.from({ length: n }, (_, i) => Math.sin(i));
  c.m = Float32Array.from({ length: n }, (_, i) => Math.cos(i) / 10);
  c.v = Float32Array.from({ length: n }, (_, i) => 1e-3 + (i % 7) * 1e-4);
  const good = encodeCheckpoint(c);
  decodeCheckpoint("ck.bin", good); // intact: accepted
  const zeroed = good.slice();
  const mid = Math.floor(good.length / 2);
  zeroed.fill(0, mid - 2048, mid + 2048);
  const digit = good.slice();
  const at = new TextDecoder().decode(good).indexOf('"testLoss":0.69') + '"testLoss":0.6'.length;
  digit[at] = "7".charCodeAt(0); // testLoss 0.69 → 0.79: still valid JSON, still consistent
  for (const [what, bytes] of [["zeroed", zeroed], ["changed digit", digit]] as const) {
    let msg = "";
    try {
      decodeCheckpoint("ck.bin", bytes);
    } catch (e) {
      msg = (e as Error).message;
    }
    if (!msg.includes('"ck.bin"') || !/checksum/.test(msg)) {
      throw new Error(`${what}: want a checksum error naming the file, got ${JSON.stringify(msg)}`);
    }
  }
});
