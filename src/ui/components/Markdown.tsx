// An answer's Markdown as React elements (parsed by ../markdown.ts). Everything is text or a known
// element: React escapes the text, links are http(s)/mailto only and open in a new tab without the
// opener, and code blocks get a copy button.
import { useState, type ReactNode } from 'react';
import { parseMarkdown, type Block, type Inline } from '../markdown.ts';
import { copyText } from '../clipboard.ts';

export function Markdown({ text }: { text: string }) {
  return <>{parseMarkdown(text).map((block, i) => renderBlock(block, i))}</>;
}

function renderBlock(block: Block, key: number): ReactNode {
  switch (block.kind) {
    case 'heading': {
      // One level below the chat's own headings, so an answer's "# Title" does not outrank the page's.
      const Tag = `h${Math.min(6, block.level + 2)}` as 'h3';
      return <Tag key={key}>{renderInline(block.content)}</Tag>;
    }
    case 'paragraph':
      return <p key={key}>{renderInline(block.content)}</p>;
    case 'list': {
      const items = block.items.map((item, i) => <li key={i}>{renderInline(item)}</li>);
      return block.ordered ? (
        <ol key={key} start={block.start === 1 ? undefined : block.start}>
          {items}
        </ol>
      ) : (
        <ul key={key}>{items}</ul>
      );
    }
    case 'code':
      return <CodeBlock key={key} language={block.language} text={block.text} />;
    case 'quote':
      return <blockquote key={key}>{block.blocks.map(renderBlock)}</blockquote>;
    case 'table':
      return (
        <div key={key} className="md-table">
          <table>
            <thead>
              <tr>
                {block.header.map((cell, i) => (
                  <th key={i} style={{ textAlign: block.align[i] }}>
                    {renderInline(cell)}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {block.rows.map((row, r) => (
                <tr key={r}>
                  {row.map((cell, i) => (
                    <td key={i} style={{ textAlign: block.align[i] }}>
                      {renderInline(cell)}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      );
    case 'rule':
      return <hr key={key} />;
  }
}

function renderInline(content: Inline[]): ReactNode[] {
  return content.map((part, i) => {
    switch (part.kind) {
      case 'text':
        return part.text;
      case 'code':
        return <code key={i}>{part.text}</code>;
      case 'strong':
        return <strong key={i}>{renderInline(part.children)}</strong>;
      case 'em':
        return <em key={i}>{renderInline(part.children)}</em>;
      case 'link':
        return (
          <a key={i} href={part.href} target="_blank" rel="noopener noreferrer">
            {renderInline(part.children)}
          </a>
        );
    }
  });
}

function CodeBlock({ language, text }: { language: string; text: string }) {
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    await copyText(text);
    setCopied(true);
    setTimeout(() => setCopied(false), 1500);
  };
  return (
    <div className="md-code" data-testid="code-block">
      <div className="md-code-head">
        <span className="md-code-language">{language || 'code'}</span>
        <button type="button" className="button small quiet" onClick={() => void copy()} data-testid="copy-code">
          {copied ? 'Copied' : 'Copy code'}
        </button>
      </div>
      <pre>
        <code>{text}</code>
      </pre>
    </div>
  );
}
