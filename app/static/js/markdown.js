/* Safe markdown for the model's answers: text in, a DocumentFragment of plain elements out.
 *
 * Model text is untrusted. Nothing here parses HTML: every element is made with createElement
 * and every piece of text goes in as a text node, so `<script>` or `<img onerror=...>` in an
 * answer shows as those characters. Links keep only absolute http(s) URLs (javascript:, data:
 * and the like stay text) and open in a new tab without a referrer. Covered: headings, rules,
 * quotes, fenced code, nested lists, GFM tables, code spans, links, bare URLs, bold, italic.
 */
import { el } from "./dom.js";

const INLINE = new RegExp(
  [
    "`([^`\\n]+)`", // 1 code
    "\\[([^\\]\\n]+)\\]\\(((?:[^()\\s]|\\([^()\\s]*\\))+)\\)", // 2 label, 3 url
    "\\*\\*(?=\\S)(.+?)\\*\\*", // 4 bold
    "(?<![\\w])__(?=\\S)(.+?)__(?![\\w])", // 5 bold
    "\\*(?=[^\\s*])(.+?)\\*", // 6 italic
    "(?<![\\w])_(?=[^\\s_])(.+?)_(?![\\w])", // 7 italic
    "(https?://[^\\s<>()]+[^\\s<>().,;:!?'\"])", // 8 bare URL
  ].join("|"),
  "g",
);

/** An absolute http(s) URL, or null: javascript:, data: and the like never become links. */
function safeHref(raw) {
  try {
    const url = new URL(raw, window.location.origin);
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
  } catch {
    return null;
  }
}

function link(label, raw) {
  const href = safeHref(raw);
  if (!href) return document.createTextNode(label);
  return el("a", { href, target: "_blank", rel: "noopener noreferrer nofollow" }, label);
}

/** Append `text` to `parent` with code, links, bold and italic as elements. */
function inline(text, parent) {
  let last = 0;
  for (const match of text.matchAll(INLINE)) {
    if (match.index > last) parent.append(text.slice(last, match.index));
    const [, code, label, url, b1, b2, i1, i2, bare] = match;
    if (code !== undefined) parent.append(el("code", { text: code }));
    else if (label !== undefined) parent.append(link(label, url));
    else if (b1 !== undefined || b2 !== undefined) inline(b1 ?? b2, parent.appendChild(el("strong")));
    else if (i1 !== undefined || i2 !== undefined) inline(i1 ?? i2, parent.appendChild(el("em")));
    else if (bare !== undefined) parent.append(link(bare, bare));
    last = match.index + match[0].length;
  }
  if (last < text.length) parent.append(text.slice(last));
  return parent;
}

const FENCE = /^\s*```/;
const HEADING = /^(#{1,6})\s+(.*?)\s*#*\s*$/;
const RULE = /^\s*([-*_])(\s*\1){2,}\s*$/;
const QUOTE = /^\s*>\s?/;
const ITEM = /^(\s*)([-*+]|\d{1,9}[.)])\s+(.*)$/;
const TABLE_SEPARATOR = /^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$/;

const indentOf = (line) => line.match(/^\s*/)[0].length;
const isTableStart = (lines, i) =>
  lines[i].includes("|") && i + 1 < lines.length && TABLE_SEPARATOR.test(lines[i + 1]) &&
  lines[i + 1].includes("-");
const startsBlock = (lines, i) =>
  FENCE.test(lines[i]) || HEADING.test(lines[i]) || RULE.test(lines[i]) ||
  QUOTE.test(lines[i]) || ITEM.test(lines[i]) || isTableStart(lines, i);

function splitRow(line) {
  let row = line.trim();
  if (row.startsWith("|")) row = row.slice(1);
  if (row.endsWith("|") && !row.endsWith("\\|")) row = row.slice(0, -1);
  return row.split(/(?<!\\)\|/).map((cell) => cell.trim().replace(/\\\|/g, "|"));
}

function alignments(separator) {
  return splitRow(separator).map((cell) => {
    if (cell.startsWith(":") && cell.endsWith(":")) return "center";
    if (cell.endsWith(":")) return "right";
    return null;
  });
}

/** A GFM table; each cell carries its column name so narrow screens can show cards. */
function table(lines, i, out) {
  const head = splitRow(lines[i]);
  const align = alignments(lines[i + 1]);
  const tbody = el("tbody");
  let j = i + 2;
  for (; j < lines.length && lines[j].includes("|") && lines[j].trim(); j++) {
    const cells = splitRow(lines[j]);
    const row = el("tr");
    head.forEach((name, k) => {
      const td = inline(cells[k] ?? "", el("td", { "data-label": name }));
      if (align[k]) td.style.textAlign = align[k];
      row.append(td);
    });
    tbody.append(row);
  }
  const headRow = el("tr");
  head.forEach((name, k) => {
    const th = inline(name, el("th", { scope: "col" }));
    if (align[k]) th.style.textAlign = align[k];
    headRow.append(th);
  });
  out.append(el("div", { class: "table-wrap" },
    el("table", { class: "md-table" }, el("thead", {}, headRow), tbody)));
  return j;
}

/** A list; an item owns the following lines indented past its marker (nested lists too). */
function list(lines, i, out) {
  const first = lines[i].match(ITEM);
  const base = first[1].length;
  const ordered = /\d/.test(first[2]);
  const node = el(ordered ? "ol" : "ul");
  if (ordered && parseInt(first[2], 10) !== 1) node.setAttribute("start", parseInt(first[2], 10));
  let j = i;
  while (j < lines.length) {
    const match = lines[j].match(ITEM);
    if (!match || match[1].length !== base || /\d/.test(match[2]) !== ordered) break;
    const body = [match[3]];
    j++;
    while (j < lines.length && lines[j].trim() && indentOf(lines[j]) > base) {
      body.push(lines[j].slice(Math.min(indentOf(lines[j]), base + 2)));
      j++;
    }
    const li = el("li");
    blocks(body, li, true);
    node.append(li);
    if (j < lines.length && !lines[j].trim() && j + 1 < lines.length) {
      const next = lines[j + 1].match(ITEM);
      if (next && next[1].length === base) j++; // a loose list keeps going after a blank line
    }
  }
  out.append(node);
  return j;
}

/** Render block-level markdown `lines` into `out`. `tight` drops the <p> of list items. */
function blocks(lines, out, tight = false) {
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (!line.trim()) { i++; continue; }
    if (FENCE.test(line)) {
      const code = [];
      for (i++; i < lines.length && !FENCE.test(lines[i]); i++) code.push(lines[i]);
      out.append(el("pre", { class: "code" }, el("code", { text: code.join("\n") })));
      i++;
      continue;
    }
    const heading = line.match(HEADING);
    if (heading) {
      const level = Math.min(6, heading[1].length + 2); // an answer's "#" is a section
      out.append(inline(heading[2], el(`h${level}`)));
      i++;
      continue;
    }
    if (RULE.test(line)) { out.append(el("hr")); i++; continue; }
    if (isTableStart(lines, i)) { i = table(lines, i, out); continue; }
    if (ITEM.test(line)) { i = list(lines, i, out); continue; }
    if (QUOTE.test(line)) {
      const quoted = [];
      for (; i < lines.length && QUOTE.test(lines[i]); i++) quoted.push(lines[i].replace(QUOTE, ""));
      blocks(quoted, out.appendChild(el("blockquote")));
      continue;
    }
    const para = [line];
    for (i++; i < lines.length && lines[i].trim() && !startsBlock(lines, i); i++) para.push(lines[i]);
    const target = tight ? out : out.appendChild(el("p"));
    para.forEach((text, k) => {
      if (k) target.append(el("br"));
      inline(text.trim(), target);
    });
  }
  return out;
}

/** The whole text as a DocumentFragment of safe elements. */
export function render(text) {
  return blocks(String(text).replace(/\r\n?/g, "\n").split("\n"), document.createDocumentFragment());
}
