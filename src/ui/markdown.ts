// Markdown as models write it (headings, lists, fenced code, tables, quotes, emphasis, links) parsed
// into plain data that components/Markdown.tsx turns into React elements. No HTML is ever parsed or
// passed through: "<b>" in an answer stays the text "<b>", and a link keeps its href only when it is
// http(s) or mailto. Streaming-safe: an unclosed fence or emphasis renders as what has arrived.

export type Inline =
  | { kind: 'text'; text: string }
  | { kind: 'code'; text: string }
  | { kind: 'strong'; children: Inline[] }
  | { kind: 'em'; children: Inline[] }
  | { kind: 'link'; href: string; children: Inline[] };

export type Alignment = 'left' | 'center' | 'right' | undefined;

export type Block =
  | { kind: 'heading'; level: 1 | 2 | 3 | 4 | 5 | 6; content: Inline[] }
  | { kind: 'paragraph'; content: Inline[] }
  | { kind: 'list'; ordered: boolean; start: number; items: Inline[][] }
  | { kind: 'code'; language: string; text: string }
  | { kind: 'quote'; blocks: Block[] }
  | { kind: 'table'; align: Alignment[]; header: Inline[][]; rows: Inline[][][] }
  | { kind: 'rule' };

const fence = /^ {0,3}(`{3,}|~{3,})\s*([\w+#.-]*)/;
const heading = /^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$/;
const bullet = /^\s{0,3}[-*+]\s+(.*)$/;
const numbered = /^\s{0,3}(\d{1,9})[.)]\s+(.*)$/;
const rule = /^ {0,3}([-*_])(\s*\1){2,}\s*$/;
const quote = /^ {0,3}>\s?(.*)$/;
const tableDivider = /^\s*\|?\s*:?-{1,}:?\s*(\|\s*:?-{1,}:?\s*)*\|?\s*$/;

export function parseMarkdown(source: string): Block[] {
  const lines = source.replace(/\r\n?/g, '\n').split('\n');
  const blocks: Block[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (!line.trim()) {
      i++;
      continue;
    }
    const open = fence.exec(line);
    if (open) {
      const body: string[] = [];
      i++;
      while (i < lines.length && !lines[i].trimStart().startsWith(open[1])) body.push(lines[i++]);
      i++; // the closing fence, or past the end while it streams
      blocks.push({ kind: 'code', language: open[2], text: body.join('\n') });
      continue;
    }
    const title = heading.exec(line);
    if (title) {
      blocks.push({ kind: 'heading', level: title[1].length as 1 | 2 | 3 | 4 | 5 | 6, content: parseInline(title[2]) });
      i++;
      continue;
    }
    if (rule.test(line)) {
      blocks.push({ kind: 'rule' });
      i++;
      continue;
    }
    if (quote.test(line)) {
      const body: string[] = [];
      while (i < lines.length && quote.test(lines[i])) body.push(quote.exec(lines[i++])![1]);
      blocks.push({ kind: 'quote', blocks: parseMarkdown(body.join('\n')) });
      continue;
    }
    if (line.includes('|') && i + 1 < lines.length && tableDivider.test(lines[i + 1]) && lines[i + 1].includes('-')) {
      const header = tableCells(line);
      const align = tableCells(lines[i + 1]).map(alignment);
      const rows: Inline[][][] = [];
      i += 2;
      while (i < lines.length && lines[i].includes('|') && lines[i].trim()) rows.push(tableCells(lines[i++]).map(parseInline));
      blocks.push({ kind: 'table', align, header: header.map(parseInline), rows });
      continue;
    }
    const listStart = bullet.exec(line) ?? numbered.exec(line);
    if (listStart) {
      const ordered = !bullet.test(line);
      const items: string[] = [];
      while (i < lines.length) {
        const item = ordered ? numbered.exec(lines[i]) : bullet.exec(lines[i]);
        if (item) items.push(ordered ? item[2] : item[1]);
        else if (lines[i].trim() && /^\s{2,}/.test(lines[i]) && items.length) items[items.length - 1] += ` ${lines[i].trim()}`;
        else break;
        i++;
      }
      blocks.push({ kind: 'list', ordered, start: ordered ? Number(numbered.exec(line)![1]) : 1, items: items.map(parseInline) });
      continue;
    }
    const paragraph: string[] = [];
    while (i < lines.length && lines[i].trim() && !startsBlock(lines, i)) paragraph.push(lines[i++].trim());
    blocks.push({ kind: 'paragraph', content: parseInline(paragraph.join('\n')) });
  }
  return blocks;
}

function startsBlock(lines: string[], i: number): boolean {
  const line = lines[i];
  return fence.test(line) || heading.test(line) || rule.test(line) || quote.test(line) || bullet.test(line) || numbered.test(line);
}

function tableCells(line: string): string[] {
  const trimmed = line.trim().replace(/^\|/, '').replace(/\|$/, '');
  return trimmed.split(/(?<!\\)\|/).map((cell) => cell.trim().replace(/\\\|/g, '|'));
}

function alignment(divider: string): Alignment {
  const left = divider.startsWith(':');
  const right = divider.endsWith(':');
  return left && right ? 'center' : right ? 'right' : left ? 'left' : undefined;
}

/** Only links a reader can follow safely: http(s) and mailto, as absolute URLs. */
export function safeHref(href: string): string | undefined {
  try {
    const url = new URL(href.trim());
    return url.protocol === 'http:' || url.protocol === 'https:' || url.protocol === 'mailto:' ? url.href : undefined;
  } catch {
    return undefined;
  }
}

const inlineToken = /(`+)([\s\S]*?[^`])\1(?!`)|\*\*([\s\S]+?)\*\*|__([\s\S]+?)__|\*(?=\S)([\s\S]*?\S)\*|\b_(?=\S)([\s\S]*?\S)_\b|\[([^\]\n]+)\]\(([^)\s]+)\)/g;

export function parseInline(text: string): Inline[] {
  const out: Inline[] = [];
  let at = 0;
  const pushText = (t: string) => {
    if (!t) return;
    const last = out.at(-1);
    if (last?.kind === 'text') last.text += t;
    else out.push({ kind: 'text', text: t });
  };
  for (const m of text.matchAll(inlineToken)) {
    pushText(text.slice(at, m.index));
    at = m.index + m[0].length;
    if (m[1]) out.push({ kind: 'code', text: m[2].replace(/^ (.+) $/s, '$1') });
    else if (m[3] !== undefined || m[4] !== undefined) out.push({ kind: 'strong', children: parseInline(m[3] ?? m[4]) });
    else if (m[5] !== undefined || m[6] !== undefined) out.push({ kind: 'em', children: parseInline(m[5] ?? m[6]) });
    else {
      const href = safeHref(m[8]);
      const children = parseInline(m[7]);
      if (href) out.push({ kind: 'link', href, children });
      else pushText(m[0]);
    }
  }
  pushText(text.slice(at));
  return out;
}
