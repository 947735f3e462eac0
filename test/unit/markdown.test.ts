// Answers rendered as Markdown: the parser's blocks and inlines, and the rendered HTML of a hostile
// answer (raw HTML, event handlers, javascript: links) holding no element or attribute it asked for.
import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { parseInline, parseMarkdown, safeHref } from '../../src/ui/markdown.ts';
import { Markdown } from '../../src/ui/components/Markdown.tsx';

const render = (text: string) => renderToStaticMarkup(createElement(Markdown, { text }));

describe('parseMarkdown', () => {
  it('reads headings, lists, fenced code, tables, quotes and rules', () => {
    const blocks = parseMarkdown(
      ['# Title', '', 'Some **bold** text', 'on two lines.', '', '- one', '- two', '', '3. three', '4. four', '', '```ts', 'const a = 1;', '```', '', '| a | b |', '|:--|--:|', '| 1 | 2 |', '', '> quoted', '', '---'].join('\n'),
    );
    expect(blocks.map((b) => b.kind)).toEqual(['heading', 'paragraph', 'list', 'list', 'code', 'table', 'quote', 'rule']);
    expect(blocks[0]).toEqual({ kind: 'heading', level: 1, content: [{ kind: 'text', text: 'Title' }] });
    expect(blocks[1]).toEqual({
      kind: 'paragraph',
      content: [{ kind: 'text', text: 'Some ' }, { kind: 'strong', children: [{ kind: 'text', text: 'bold' }] }, { kind: 'text', text: ' text\non two lines.' }],
    });
    expect(blocks[3]).toMatchObject({ kind: 'list', ordered: true, start: 3, items: [[{ text: 'three' }], [{ text: 'four' }]] });
    expect(blocks[4]).toEqual({ kind: 'code', language: 'ts', text: 'const a = 1;' });
    expect(blocks[5]).toMatchObject({ kind: 'table', align: ['left', 'right'], header: [[{ text: 'a' }], [{ text: 'b' }]], rows: [[[{ text: '1' }], [{ text: '2' }]]] });
  });

  it('keeps an unclosed code fence open while the answer streams', () => {
    expect(parseMarkdown('Here:\n```py\nprint(1)\n')).toEqual([
      { kind: 'paragraph', content: [{ kind: 'text', text: 'Here:' }] },
      { kind: 'code', language: 'py', text: 'print(1)\n' },
    ]);
  });

  it('reads inline code, emphasis and links, and leaves an unsafe link as text', () => {
    expect(parseInline('`x*y*` and *it* and [site](https://example.org/a)')).toEqual([
      { kind: 'code', text: 'x*y*' },
      { kind: 'text', text: ' and ' },
      { kind: 'em', children: [{ kind: 'text', text: 'it' }] },
      { kind: 'text', text: ' and ' },
      { kind: 'link', href: 'https://example.org/a', children: [{ kind: 'text', text: 'site' }] },
    ]);
    expect(parseInline('[x](javascript:alert(1))')).toEqual([{ kind: 'text', text: '[x](javascript:alert(1))' }]);
    expect(safeHref('data:text/html,<b>')).toBeUndefined();
    expect(safeHref('mailto:a@b.c')).toBe('mailto:a@b.c');
  });
});

describe('<Markdown>', () => {
  it('renders the elements people expect', () => {
    expect(render('## Steps\n\n1. **Open** it\n2. Read `it`')).toBe('<h4>Steps</h4><ol><li><strong>Open</strong> it</li><li>Read <code>it</code></li></ol>');
    expect(render('[docs](https://example.org)')).toBe('<p><a href="https://example.org/" target="_blank" rel="noopener noreferrer">docs</a></p>');
  });

  it('turns a hostile answer into text: no script, no handler, no javascript: link', () => {
    const hostile = [
      '<script>alert(1)</script>',
      '',
      '<img src=x onerror="alert(2)">',
      '',
      '[click](javascript:alert(3)) [data](data:text/html;base64,PHNjcmlwdD4=)',
      '',
      '| <b onmouseover=alert(4)>x</b> | y |',
      '|---|---|',
      '| <iframe src="https://evil.example"></iframe> | z |',
      '',
      '```html',
      '<script>alert(5)</script>',
      '```',
    ].join('\n');
    const html = render(hostile);
    expect(html).not.toMatch(/<(script|img|iframe|b)[\s>]/i);
    // Inside a tag (escaped text has no "<"): no event handler attribute.
    expect(html).not.toMatch(/<[^>]*\son\w+=/i);
    expect(html).toContain('<table>');
    expect(html).not.toMatch(/href="(javascript|data):/i);
    // The text itself is all there, escaped.
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('&lt;img src=x onerror=&quot;alert(2)&quot;&gt;');
    expect(html).toContain('[click](javascript:alert(3))');
    expect(html).toContain('<pre><code>&lt;script&gt;alert(5)&lt;/script&gt;</code></pre>');
  });
});
