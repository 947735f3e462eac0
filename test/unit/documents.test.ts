import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DocumentError, documentKind, extractText } from '../../src/ui/documents/extract-text.ts';
import { htmlToText } from '../../src/ui/documents/html-text.ts';
import { makePdf } from '../support/make-pdf.ts';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/text/${name}`, import.meta.url));

function file(name: string, content: string | Uint8Array<ArrayBuffer>, type = ''): File {
  return new File([content], name, { type });
}

describe('extractText: plain text and Markdown', () => {
  it('returns .txt exactly as written, UTF-8 included', async () => {
    const bytes = fixture('sample.txt');
    const doc = await extractText(file('notes.txt', bytes));
    expect(doc).toEqual({ text: bytes.toString('utf8'), kind: 'txt' });
    expect(doc.text).toContain('Grüße aus Köln. 第三行：中文。 Emoji: 😀');
    expect(doc.text).toContain('  Indented line with trailing spaces   \n');
  });

  it('returns .md as is, hard line breaks (two trailing spaces) included', async () => {
    const bytes = fixture('sample.md');
    const doc = await extractText(file('README.MD', bytes));
    expect(doc).toEqual({ text: bytes.toString('utf8'), kind: 'md' });
    expect(doc.text).toContain('[link](https://example.org).  \n');
  });

  it('drops a UTF-8 byte-order mark', async () => {
    const doc = await extractText(file('bom.txt', new Uint8Array([0xef, 0xbb, 0xbf, 0x68, 0x69])));
    expect(doc.text).toBe('hi');
  });

  it('reads text that is not UTF-8 as Windows-1252', async () => {
    const doc = await extractText(file('old.txt', new Uint8Array([0x63, 0x61, 0x66, 0xe9, 0x20, 0x93, 0x71, 0x94])));
    expect(doc.text).toBe('café “q”');
  });
});

describe('extractText: HTML', () => {
  it('keeps the readable text with block breaks and decoded entities', async () => {
    const doc = await extractText(file('page.html', fixture('sample.html')));
    expect(doc.kind).toBe('html');
    expect(doc.text).toBe(
      [
        'The Heading',
        '',
        'First paragraph with bold, italic and an entity: café & “quotes” © 2024.',
        '',
        'Second',
        'line after a break. Ünïcödé: 中文 😀',
        '',
        'One',
        'Two link',
        '',
        '  code  keeps',
        '    its spaces',
        '',
        'a b',
        'c d',
        '',
        'Last words',
      ].join('\n'),
    );
  });

  it('drops scripts, styles, comments and <head> even when markup hides inside them', () => {
    const text = htmlToText(fixture('sample.html').toString('utf8'));
    for (const hidden of ['not text', 'color', 'Sample', 'markup', 'Enable JavaScript']) {
      expect(text).not.toContain(hidden);
    }
  });

  it('handles fragments, numeric references and stray angle brackets', () => {
    expect(htmlToText('a &lt; b &#x1F600; &#128512; &#0; &bogus; 1 < 2 > 0')).toBe('a < b 😀 😀 \ufffd &bogus; 1 < 2 > 0');
    expect(htmlToText('<p>one</p><p>two</p>three<br/><br/>four')).toBe('one\n\ntwo\n\nthree\n\nfour');
    expect(htmlToText('<P CLASS=x>Upper</P><DIV>case</DIV>')).toBe('Upper\n\ncase');
    expect(htmlToText('<title>T</title><body>text')).toBe('text');
    expect(htmlToText('<textarea>a <b> c</textarea>')).toBe('a <b> c');
  });

  it('is chosen by MIME type when the name has no known extension', async () => {
    const doc = await extractText(file('download', '<p>x &amp; y</p>', 'text/html; charset=utf-8'));
    expect(doc).toEqual({ text: 'x & y', kind: 'html' });
  });
});

describe('extractText: PDF', () => {
  it('extracts the text of every page, pages separated by a blank line', async () => {
    const pdf = makePdf([
      ['Page one, first line.', 'Second line (with parentheses).'],
      ['Page two: café crème.'],
    ]);
    const doc = await extractText(file('paper.pdf', pdf));
    expect(doc.kind).toBe('pdf');
    expect(doc.pages).toBe(2);
    expect(doc.text).toBe('Page one, first line.\nSecond line (with parentheses).\n\nPage two: café crème.');
  });

  it('reports a PDF without a text layer', async () => {
    await expect(extractText(file('scan.pdf', makePdf([[], []])))).rejects.toThrow(/no text layer/);
  });

  it('reports a damaged PDF', async () => {
    const error = await extractText(file('broken.pdf', new TextEncoder().encode('%PDF-1.4\nnot really'))).catch((e) => e);
    expect(error).toBeInstanceOf(DocumentError);
    expect(error.message).toMatch(/^broken\.pdf: /);
  });

  it('reports a file that is no PDF at all', async () => {
    await expect(extractText(file('fake.pdf', 'hello'))).rejects.toThrow(/broken|not a valid PDF|could not be read/);
  });
});

describe('extractText: errors', () => {
  it('rejects unknown types with the extension in the message', async () => {
    const error = await extractText(file('report.docx', 'PK…')).catch((e) => e);
    expect(error).toBeInstanceOf(DocumentError);
    expect(error.message).toBe('report.docx: ".docx" files are not supported; use a .txt, .md, .html or .pdf file');
    await expect(extractText(file('noextension', 'x'))).rejects.toThrow(/this kind of file is not supported/);
  });

  it('rejects binary files and empty ones', async () => {
    await expect(extractText(file('data.txt', new Uint8Array([0x41, 0, 0x42])))).rejects.toThrow(/binary/);
    await expect(extractText(file('empty.md', ' \n\n '))).rejects.toThrow(/no text/);
    await expect(extractText(file('empty.html', '<script>x()</script>'))).rejects.toThrow(/no text/);
  });

  it('reports a file that cannot be read', async () => {
    const unreadable = Object.assign(new Blob(['x']), {
      name: 'gone.txt',
      arrayBuffer: () => Promise.reject(new Error('NotReadableError')),
    });
    await expect(extractText(unreadable)).rejects.toThrow('gone.txt: the file could not be read (NotReadableError)');
  });
});

describe('documentKind', () => {
  it('goes by extension first, then MIME type', () => {
    expect(documentKind('a.htm')).toBe('html');
    expect(documentKind('a.markdown')).toBe('md');
    expect(documentKind('a.PDF', 'text/plain')).toBe('pdf');
    expect(documentKind('a', 'application/pdf')).toBe('pdf');
    expect(documentKind('archive.tar.gz')).toBeUndefined();
  });
});
