/**
 * The architectures in the order the report lists them (the original report's order), and
 * how the report writes their names.
 *
 * @module
 */

import type { Arch } from "../bench/results/schema.ts";

/** Architectures in the original report's order. */
export const ARCH_ORDER: readonly Arch[] = ["rnn", "lstm", "gru"];
/** How architectures are written in the report. */
export const ARCH_LABEL: Record<Arch, string> = { rnn: "RNN", lstm: "LSTM", gru: "GRU" };
