import { ignorableTest } from "../../models/_testing.ts";
import { decodeNpy, encodeNpy } from "./npy.ts";

async function hasNumpy(): Promise<boolean> {
  try {
    const out = await new Deno.Command("python3", {
      args: ["-c", "import numpy"],
      stdout: "null",
      stderr: "null",
    }).output();
    return out.success;
  } catch {
    return false;
  }
}

Deno.test(".npy files carry numpy's magic, a 64-byte aligned header and the raw data", () => {
  const ids = Int32Array.from({ length: 6 }, (_, i) => i * 1000 - 2);
  const bytes = encodeNpy(ids, [2, 3]);
  const header = new TextDecoder().decode(bytes.subarray(10, 10 + (bytes[8]! | (bytes[9]! << 8))));
  if (!header.startsWith("{'descr': '<i4', 'fortran_order': False, 'shape': (2, 3), }")) {
    throw new Error(header);
  }
  if ((10 + header.length) % 64 !== 0 || !header.endsWith("\n")) throw new Error("alignment");
  const back = decodeNpy(bytes);
  if (back.shape.join() !== "2,3" || !(back.data instanceof Int32Array)) throw new Error("type");
  if ([...back.data].join() !== [...ids].join()) throw new Error("data");
  const labels = decodeNpy(encodeNpy(Uint8Array.of(0, 1, 1), [3]));
  if (labels.shape.join() !== "3" || [...labels.data].join() !== "0,1,1") throw new Error("u8");
});

Deno.test(".npy writer refuses a shape that does not hold the data", () => {
  let msg = "";
  try {
    encodeNpy(new Int32Array(5), [2, 3]);
  } catch (e) {
    msg = String(e);
  }
  if (!msg.includes("Cannot write .npy: shape [2,3] does not hold 5 elements")) {
    throw new Error(msg);
  }
});

ignorableTest({
  name: ".npy files written here load in numpy with the same values",
  ignore: (await hasNumpy()) ? null : "python3 with numpy not found",
  fn: npyLoadsInNumpy,
});

async function npyLoadsInNumpy(): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "rnnbench-npy-" });
  try {
    const ids = Int32Array.from({ length: 12 }, (_, i) => (i * 7919) % 100_003 - 5);
    await Deno.writeFile(`${dir}/a.npy`, encodeNpy(ids, [3, 4]));
    await Deno.writeFile(`${dir}/b.npy`, encodeNpy(Uint8Array.of(1, 0, 1), [3]));
    await Deno.writeFile(`${dir}/c.npy`, encodeNpy(Float32Array.of(0.5, -2), [2]));
    const script = `import numpy as np, json
a = np.load("${dir}/a.npy"); b = np.load("${dir}/b.npy"); c = np.load("${dir}/c.npy")
print(json.dumps([str(a.dtype), list(a.shape), a.tolist(), str(b.dtype), b.tolist(), str(c.dtype), c.tolist()]))`;
    const out = await new Deno.Command("python3", {
      args: ["-c", script],
      stdout: "piped",
      stderr: "piped",
    })
      .output();
    if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
    const [ad, ash, a, bd, b, cd, c] = JSON.parse(new TextDecoder().decode(out.stdout));
    if (ad !== "int32" || ash.join() !== "3,4" || a.flat().join() !== [...ids].join()) {
      throw new Error(`int32: ${ad} ${ash} ${a}`);
    }
    if (bd !== "uint8" || b.join() !== "1,0,1" || cd !== "float32" || c.join() !== "0.5,-2") {
      throw new Error(`${bd} ${b} ${cd} ${c}`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
