/**
 * A reader for the small subset of YAML that Kubernetes manifests like
 * `k8s_indexed_job.yaml` are written in, so tests can check the manifest without a YAML
 * dependency: block mappings (`key: value`, `key:` with an indented block), block sequences
 * (`- item`, `- key: value` opening a mapping, a sequence at its key's indentation), `#`
 * comments, plain scalars (integers, `true`/`false`, `null`/`~`, strings), double-quoted
 * strings (read as JSON strings) and single-quoted strings, and flow sequences of JSON values
 * (`["bash", "-c"]`). Anything else (tabs, anchors, tags, block scalars, flow mappings,
 * several documents) is refused with the line number, never guessed at.
 *
 * @module
 */

/** A YAML value of the subset. */
export type YamlValue = string | number | boolean | null | YamlValue[] | {
  [key: string]: YamlValue;
};

interface Line {
  /** 1-based, for messages. */
  no: number;
  indent: number;
  text: string;
}

function fail(line: Line | undefined, why: string): never {
  throw new Error(`Cannot read YAML${line ? ` line ${line.no}` : ""}: ${why}`);
}

/** The line without its comment: a `#` at the start or after a space, outside quotes. */
function stripComment(s: string): string {
  let quote: string | null = null;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quote !== null) {
      if (c === "\\" && quote === '"') i++;
      else if (c === quote) quote = null;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === "#" && (i === 0 || s[i - 1] === " ")) return s.slice(0, i);
  }
  return s;
}

function scalar(raw: string, line: Line): YamlValue {
  const s = raw.trim();
  if (s.startsWith('"') || s.startsWith("[")) {
    try {
      return JSON.parse(s) as YamlValue;
    } catch {
      return fail(line, `${s} is not a JSON string or list`);
    }
  }
  if (s.startsWith("'")) {
    if (!s.endsWith("'") || s.length < 2) fail(line, `unterminated ${s}`);
    return s.slice(1, -1).replaceAll("''", "'");
  }
  if (/^[&*!|>{%@`]/.test(s)) fail(line, `"${s}" is outside the supported YAML subset`);
  if (s === "true" || s === "false") return s === "true";
  if (s === "null" || s === "~" || s === "") return null;
  if (/^-?(0|[1-9]\d*)$/.test(s)) return Number(s);
  return s;
}

/** Splits `key: rest` at the first `: ` (or a final `:`) outside quotes; null if none. */
function splitKey(text: string): [string, string] | null {
  const m = text.match(/^("(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^"'#:][^:]*?)\s*:(?:\s+(.*)|$)/);
  if (m === null) return null;
  const key = m[1]!;
  const name = key.startsWith('"')
    ? JSON.parse(key) as string
    : key.startsWith("'")
    ? key.slice(1, -1).replaceAll("''", "'")
    : key;
  return [name, m[2] ?? ""];
}

class Reader {
  i = 0;
  constructor(readonly lines: Line[]) {}

  get line(): Line | undefined {
    return this.lines[this.i];
  }

  /** The block whose first line is the current one, at indentation `indent`. */
  block(indent: number): YamlValue {
    const l = this.line;
    if (l === undefined || l.indent !== indent) return fail(l, "expected an indented block");
    return l.text === "-" || l.text.startsWith("- ") ? this.sequence(indent) : this.mapping(indent);
  }

  sequence(indent: number): YamlValue[] {
    const items: YamlValue[] = [];
    for (let l = this.line; l?.indent === indent && (l.text === "-" || l.text.startsWith("- "));) {
      const rest = l.text.slice(1).trimStart();
      if (rest === "") {
        this.i++;
        const next = this.line;
        items.push(next !== undefined && next.indent > indent ? this.block(next.indent) : null);
      } else if (splitKey(rest) !== null && !rest.startsWith('"') && !rest.startsWith("[")) {
        // "- key: value" opens a mapping whose keys sit where "key" starts.
        const at = indent + l.text.length - rest.length;
        this.lines[this.i] = { no: l.no, indent: at, text: rest };
        items.push(this.mapping(at));
      } else {
        items.push(scalar(rest, l));
        this.i++;
      }
      l = this.line;
    }
    return items;
  }

  mapping(indent: number): Record<string, YamlValue> {
    const map: Record<string, YamlValue> = {};
    for (let l = this.line; l?.indent === indent && !l.text.startsWith("- ");) {
      const kv = splitKey(l.text);
      if (kv === null) fail(l, `expected "key: value", got "${l.text}"`);
      const [key, rest] = kv;
      if (Object.hasOwn(map, key)) fail(l, `duplicate key "${key}"`);
      this.i++;
      if (rest.trim() !== "") map[key] = scalar(rest, l);
      else {
        const next = this.line;
        if (next !== undefined && next.indent > indent) map[key] = this.block(next.indent);
        else if (next?.indent === indent && next.text.startsWith("- ")) {
          map[key] = this.sequence(indent);
        } else map[key] = null;
      }
      l = this.line;
    }
    return map;
  }
}

/**
 * Reads one YAML document of the subset described in the module header.
 * @param text the YAML
 * @returns its value
 * @throws Error naming the line of anything outside the subset
 * @example
 * ```ts
 * parseYamlSubset("a:\n  - 1\n  - x: '2'\n"); // { a: [1, { x: "2" }] }
 * ```
 */
export function parseYamlSubset(text: string): YamlValue {
  const lines: Line[] = [];
  text.split("\n").forEach((raw, k) => {
    const line = { no: k + 1, indent: 0, text: "" };
    if (/^\s*\t|\t\s*$/.test(raw)) fail(line, "tabs are not allowed in indentation");
    const body = stripComment(raw).trimEnd();
    if (body.trim() === "") return;
    if (body.startsWith("---") || body.startsWith("...")) fail(line, "one document only");
    lines.push({ ...line, indent: body.length - body.trimStart().length, text: body.trim() });
  });
  if (lines.length === 0) return null;
  const r = new Reader(lines);
  const value = r.block(lines[0]!.indent);
  if (r.line !== undefined) fail(r.line, "unexpected indentation");
  return value;
}
