// A dropped or picked file to the plain text the reader encodes.

import { htmlToText } from './html-text.ts';
import { pdfText } from './pdf-text.ts';

export type DocumentKind = 'txt' | 'md' | 'html' | 'pdf';

export interface ExtractedDocument {
  text: string;
  kind: DocumentKind;
  /** PDFs only. */
  pages?: number;
}

/** A file the reader cannot turn into text; the message is meant for the user. */
export class DocumentError extends Error {
  override readonly name = 'DocumentError';
}

const BY_EXTENSION: Record<string, DocumentKind> = {
  txt: 'txt', text: 'txt', md: 'md', markdown: 'md', html: 'html', htm: 'html', xhtml: 'html', pdf: 'pdf',
};
const BY_TYPE: Record<string, DocumentKind> = {
  'text/plain': 'txt', 'text/markdown': 'md', 'text/x-markdown': 'md', 'text/html': 'html',
  'application/xhtml+xml': 'html', 'application/pdf': 'pdf',
};

export function documentKind(name: string, type = ''): DocumentKind | undefined {
  const extension = /\.([^./\\]+)$/.exec(name)?.[1].toLowerCase();
  return (extension && BY_EXTENSION[extension]) || BY_TYPE[type.split(';')[0].trim().toLowerCase()];
}

export async function extractText(file: Blob & { name: string }): Promise<ExtractedDocument> {
  const kind = documentKind(file.name, file.type);
  if (kind === undefined) {
    const extension = /\.[^./\\]+$/.exec(file.name)?.[0];
    throw new DocumentError(
      `${file.name}: ${extension ? `"${extension}" files are` : 'this kind of file is'} not supported; ` +
        'use a .txt, .md, .html or .pdf file',
    );
  }
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await file.arrayBuffer());
  } catch (error) {
    throw new DocumentError(`${file.name}: the file could not be read (${(error as Error).message})`);
  }

  if (kind === 'pdf') {
    let pages: string[];
    try {
      ({ pages } = await pdfText(bytes));
    } catch (error) {
      const name = (error as Error).name;
      if (name === 'PasswordException') throw new DocumentError(`${file.name}: the PDF is password-protected`);
      if (name === 'InvalidPDFException') throw new DocumentError(`${file.name}: not a valid PDF file`);
      throw new DocumentError(`${file.name}: the PDF could not be read (${(error as Error).message})`);
    }
    const text = pages.map(tidy).filter((page) => page.length > 0).join('\n\n');
    if (text.length === 0) {
      throw new DocumentError(`${file.name}: the PDF has no text layer (a scan?); run OCR on it first`);
    }
    return { text, kind, pages: pages.length };
  }

  // Plain text and Markdown stay exactly as written.
  const source = decodeText(bytes, file.name);
  const text = kind === 'html' ? tidy(htmlToText(source)) : source;
  if (text.trim().length === 0) throw new DocumentError(`${file.name}: the file contains no text`);
  return { text, kind };
}

/** UTF-8 (a BOM is dropped); files that are not valid UTF-8 are read as Windows-1252, as browsers do. */
function decodeText(bytes: Uint8Array, name: string): string {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    text = decodeWindows1252(bytes);
  }
  if (text.includes('\0')) throw new DocumentError(`${name}: this is a binary file, not text`);
  return text;
}

// 0x80–0x9F of Windows-1252; the other bytes are Latin-1. Node's TextDecoder('windows-1252') decodes
// these as C1 controls, so the table is spelled out.
const CP1252_HIGH = '€\x81‚ƒ„…†‡ˆ‰Š‹Œ\x8dŽ\x8f\x90‘’“”•–—˜™š›œ\x9džŸ';

function decodeWindows1252(bytes: Uint8Array): string {
  const units = Uint16Array.from(bytes, (b) => (b >= 0x80 && b < 0xa0 ? CP1252_HIGH.charCodeAt(b - 0x80) : b));
  return new TextDecoder('utf-16le').decode(units);
}

/** Unix line ends, no trailing spaces on lines, at most one blank line in a row, no blank edges. */
function tidy(text: string): string {
  return text
    .replace(/\r\n?/g, '\n')
    .replace(/[ \t\u00a0]+$/gm, '')
    .replace(/\n{3,}/g, '\n\n')
    .replace(/^\n+|\n+$/g, '');
}
