/**
 * ONNX parity: per exported run, the largest difference between the logits of ONNX Runtime
 * and of the training engine.
 *
 * @module
 */

import { code, col, compareRuns, type Doc, okRows, type RunRow } from "./_run_rows.ts";
import { formatSmall } from "./format.ts";

/** Adds a table of each exported run's parity with its training engine. */
export function onnxParity(doc: Doc, rows: readonly RunRow[], byMachine: boolean): void {
  doc.heading(3, "ONNX parity");
  const exported = okRows(rows).filter((r) => r.run.onnx !== null).sort(compareRuns);
  if (exported.length === 0) {
    doc.paragraph("No ONNX export in these results.");
    return;
  }
  doc.paragraph(
    "Largest absolute difference between the logits of ONNX Runtime and of the training " +
      "engine on the same test sequences.",
  );
  doc.table({
    columns: [
      col("Run"),
      ...(byMachine ? [col("Machine")] : []),
      col("Graph"),
      col("Opset", "right"),
      col("Max abs diff", "right"),
      col("Sequences checked", "right"),
      col("File"),
    ],
    rows: exported.map((r) => {
      const o = r.run.onnx!;
      return [
        code(r.name),
        ...(byMachine ? [code(r.machine.name)] : []),
        o.style,
        String(o.opset),
        formatSmall(o.maxAbsDiff),
        String(o.sequencesChecked),
        code(o.path),
      ];
    }),
  });
}
