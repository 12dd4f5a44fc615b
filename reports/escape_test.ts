import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { escapeHtml, escapeMarkdown, escapeMarkdownCell, markdownCode } from "./escape.ts";

Deno.test("escapeHtml() escapes the five HTML-significant characters", () => {
  assertEquals(
    escapeHtml(`<a href="x">'&'</a>`),
    "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;",
  );
});

Deno.test("escapeMarkdown() backslash-escapes markup and joins lines", () => {
  assertEquals(
    escapeMarkdown("*a* _b_ `c` [d] <e> | #f\ng"),
    "\\*a\\* \\_b\\_ \\`c\\` \\[d\\] \\<e\\> \\| \\#f g",
  );
});

Deno.test("escapeMarkdownCell() escapes pipes and turns line breaks into <br>", () => {
  assertEquals(escapeMarkdownCell("a|b\r\nc"), "a\\|b<br>c");
});

Deno.test("markdownCode() fences backticks and escapes pipes inside tables", () => {
  assertEquals(markdownCode("a", false), "`a`");
  assertEquals(markdownCode("a`b", false), "``a`b``");
  assertEquals(markdownCode("`a", false), "`` `a ``");
  assertEquals(markdownCode("a|b", true), "`a\\|b`");
  assertEquals(markdownCode("a|b", false), "`a|b`");
});
