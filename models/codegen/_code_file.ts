/**
 * Reads the fixed parts of the generated programs: C and CUDA source files in
 * `models/codegen/kernels/`, which the generators copy into every program they write.
 *
 * A code file opens with a header comment that says what it holds; the header, up to the
 * first blank line, is for its reader and is not copied. The rest may contain holes
 * `{{name}}` or `{{name arg …}}` that the generator fills with what depends on the shape
 * (the header of each file lists its holes). The files are tracked with the code, so they
 * travel wherever the tree is copied; they are read at generation time, relative to this
 * module, and need read permission.
 *
 * @module
 */

/** Fills one kind of hole: gets the hole's arguments, returns its text. */
export type Hole = (args: readonly string[]) => string;

const bodies = new Map<string, string>();

/** The file's text after its header comment and the blank line that ends it. */
function body(name: string): string {
  const cached = bodies.get(name);
  if (cached !== undefined) return cached;
  const url = new URL(`./kernels/${name}`, import.meta.url);
  let text: string;
  try {
    text = Deno.readTextFileSync(url);
  } catch (e) {
    throw new Error(`Cannot read code file "kernels/${name}": ${(e as Error).message}`);
  }
  const end = text.indexOf("*/\n\n");
  if (!text.startsWith("/*") || end < 0 || !text.endsWith("\n")) {
    throw new Error(
      `Cannot read code file "kernels/${name}": it must open with a header comment ` +
        "followed by a blank line, and end with a newline",
    );
  }
  const out = text.slice(end + "*/\n\n".length, -1);
  bodies.set(name, out);
  return out;
}

/**
 * The code of a file in `models/codegen/kernels/` without its header, holes filled.
 *
 * @param name the file's name, e.g. "cuda_adam.cu"
 * @param holes how to fill each kind of hole the file may contain
 * @returns the code, without the file's final newline
 * @throws Error naming the file when it cannot be read or holds a hole not in `holes`
 * @example
 * ```ts
 * import { codeFile } from "./_code_file.ts";
 * const code = codeFile("cuda_wavefront.cu", { flush: () => "rb_flush_I8" });
 * console.log(code.includes("rb_flush_I8(stash, nt, acc)"));
 * ```
 */
export function codeFile(name: string, holes: Readonly<Record<string, Hole>> = {}): string {
  return body(name).replace(/\{\{(\w+)((?: [\w.]+)*)\}\}/g, (hole, kind: string, args: string) => {
    const fill = Object.hasOwn(holes, kind) ? holes[kind] : undefined;
    if (fill === undefined) {
      throw new Error(`Cannot fill code file "kernels/${name}": unknown hole ${hole}`);
    }
    return fill(args.split(" ").filter((a) => a !== ""));
  });
}
