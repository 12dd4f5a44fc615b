/**
 * The shape a program is generated for ({@linkcode ProgramShape}: the traced cell, its
 * backward graph, E, H, L as compile-time constants) and the layouts both targets derive
 * from it: where each weight sits in a layer's block ({@linkcode layerSlots}), where a
 * backward step leaves the operands of the parameter gradients ({@linkcode stashLayout}),
 * and which values are held in locals or in arrays ({@linkcode REG_MAX},
 * {@linkcode isWide}).
 *
 * @module
 */
import { backward, type BackwardGraph } from "../grad.ts";
import { cellGraph } from "../cells.ts";
import { type ModelConfig, type Readout, readoutOf } from "../classifier.ts";
import type { CellGraph, ParamKind } from "../ir.ts";

/** Values wider than this many elements live in arrays; narrower ones in locals. */
export const REG_MAX = 16;

/** Accumulators a blocked matrix loop keeps in registers at once (wide shapes). */
export const BLOCK = 8;

/**
 * Whether a hidden size is "wide": above {@linkcode REG_MAX}, every vector value of a
 * cell (input, states, intermediates) lives in an array, matmuls are loops over blocks of
 * {@linkcode BLOCK} accumulators, and nothing of size H is unrolled.
 */
export function isWide(H: number): boolean {
  return H > REG_MAX;
}

/**
 * `[start, width]` of consecutive blocks of at most `width` covering `0 … n - 1`.
 * @example
 * ```ts
 * blocks(20, 8); // [[0, 8], [8, 8], [16, 4]]
 * ```
 */
export function blocks(n: number, width: number): [number, number][] {
  const out: [number, number][] = [];
  for (let j0 = 0; j0 < n; j0 += width) out.push([j0, Math.min(width, n - j0)]);
  return out;
}

/** The model shape a program is generated for (compile-time constants). */
export interface ProgramShape {
  /** The traced forward cell. */
  readonly graph: CellGraph;
  /** Its derived backward graph. */
  readonly backward: BackwardGraph;
  /** Embedding size E (layer 0's input size). */
  readonly embedDim: number;
  /** Hidden size H. */
  readonly hiddenSize: number;
  /** Number of layers L. */
  readonly layers: number;
  /** What the head reads of the top layer's h (`models/classifier.ts`). */
  readonly readout: Readout;
}

/** The program shape of a classifier: its cell traced and differentiated, and its sizes. */
export function programShape(model: ModelConfig): ProgramShape {
  const graph = cellGraph(model.arch);
  return {
    graph,
    backward: backward(graph),
    embedDim: model.embedDim,
    hiddenSize: model.hiddenSize,
    layers: model.layers,
    readout: readoutOf(model),
  };
}

/**
 * A key equal for two models exactly when {@linkcode programShape} gives them the same shape
 * (the sizes the generated code is specialised to; not the vocabulary, a run-time argument).
 * A field added to {@linkcode ProgramShape} belongs here too.
 */
export function programShapeKey(model: ModelConfig): string {
  const { embedDim, hiddenSize, layers } = model;
  return JSON.stringify([model.arch, embedDim, hiddenSize, layers, readoutOf(model)]);
}

/** Where a weight sits inside one layer's block of the flat parameter array. */
export interface WeightSlot {
  /** The weight's name in the cell, e.g. "W_hf". */
  readonly name: string;
  /** Input matrix, state matrix or bias. */
  readonly kind: ParamKind;
  /** Offset in elements from the start of the layer's block. */
  readonly offset: number;
  /** Rows K (I for input matrices, H for state matrices, 1 for biases and diagonals). */
  readonly rows: number;
}

/**
 * Weight offsets of one layer with input size `I`, in declaration order (the layout of
 * `models/classifier.ts`): `[I, H]` input matrices, `[H, H]` state matrices, `[H]` biases
 * and diagonals.
 */
export function layerSlots(graph: CellGraph, I: number, H: number): WeightSlot[] {
  let offset = 0;
  return graph.params.map((p) => {
    const rows = p.kind === "input" ? I : p.kind === "hidden" ? H : 1;
    const slot = { name: p.name, kind: p.kind, offset, rows };
    offset += rows * H;
    return slot;
  });
}

/** Total weights of one layer with input size `I`. */
export function layerSize(graph: CellGraph, I: number, H: number): number {
  return layerSlots(graph, I, H).reduce((s, w) => s + w.rows * H, 0);
}

/**
 * Where the backward step of a layer with input size `I` leaves, per timestep, the
 * values parameter gradients are built from: every distinct `a` of an outer product
 * (K values) and every distinct gradient `g` (H values). {@linkcode Renderer.flush}
 * turns a block of timesteps of them into `dW += Σ_t a ⊗ g`, `db += Σ_t g`.
 */
export function stashLayout(
  shape: ProgramShape,
  I: number,
): { slots: Map<number, number>; stride: number } {
  const bw = shape.backward, H = shape.hiddenSize;
  const slots = new Map<number, number>();
  let stride = 0;
  const add = (node: number, size: number) => {
    if (!slots.has(node)) {
      slots.set(node, stride);
      stride += size;
    }
  };
  const rows = (param: string) => layerSlots(shape.graph, I, H).find((w) => w.name === param)!.rows;
  for (const pg of bw.paramGrads) if (pg.kind === "outer") add(pg.a, rows(pg.param));
  for (const pg of bw.paramGrads) add(pg.g, H);
  return { slots, stride };
}
