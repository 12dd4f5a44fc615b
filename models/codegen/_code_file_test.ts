import { codeFile } from "./_code_file.ts";

Deno.test("codeFile() copies a code file without its header comment, holes filled", () => {
  const code = codeFile("cuda_wavefront.cu", {
    flush: () => "rb_flush_I8",
    readout: ([r]) => `@${r}@`,
  });
  const file = Deno.readTextFileSync(new URL("./kernels/cuda_wavefront.cu", import.meta.url));
  if (!file.startsWith("/*") || !file.includes("{{flush}}")) {
    throw new Error("kernels/cuda_wavefront.cu should open with a header and hold {{flush}}");
  }
  if (code.includes("{{") || code.includes("Hole:") || !code.includes("rb_flush_I8(")) {
    throw new Error(`unexpected code:\n${code.slice(0, 400)}`);
  }
  const unfilled = code.replaceAll("rb_flush_I8(", "{{flush}}(")
    .replaceAll("@max@", "{{readout max}}").replaceAll("@last@", "{{readout last}}");
  if (!file.endsWith(`*/\n\n${unfilled}\n`)) {
    throw new Error("the code is not all after the header");
  }
});

Deno.test("codeFile() refuses a hole it has no filler for, naming the file and the hole", () => {
  let msg = "";
  try {
    codeFile("cuda_wavefront.cu", { readout: () => "" });
  } catch (e) {
    msg = (e as Error).message;
  }
  if (msg !== 'Cannot fill code file "kernels/cuda_wavefront.cu": unknown hole {{flush}}') {
    throw new Error(`unexpected message: ${msg}`);
  }
});

Deno.test("codeFile() names a code file it cannot read", () => {
  let msg = "";
  try {
    codeFile("no_such_file.cu");
  } catch (e) {
    msg = (e as Error).message;
  }
  if (!msg.startsWith('Cannot read code file "kernels/no_such_file.cu": ')) {
    throw new Error(`unexpected message: ${msg}`);
  }
});
