// The text layer of a PDF through pdf.js. Its legacy build is used everywhere: Node 20 needs it, and
// browsers run it too. In a page or worker pdf.js parses in its own Worker, whose script Vite ships as
// an asset (the ?url import); in Node it parses on the calling thread ("fake worker").

type PdfJs = typeof import('pdfjs-dist/legacy/build/pdf.mjs');

let pdfjs: Promise<PdfJs> | undefined;

function loadPdfJs(): Promise<PdfJs> {
  pdfjs ??= (async () => {
    const lib = await import('pdfjs-dist/legacy/build/pdf.mjs');
    if (typeof Worker !== 'undefined' && !lib.GlobalWorkerOptions.workerSrc) {
      lib.GlobalWorkerOptions.workerSrc = (await import('pdfjs-dist/legacy/build/pdf.worker.min.mjs?url')).default;
    }
    return lib;
  })();
  return pdfjs;
}

export interface PdfText {
  /** One string per page. */
  pages: string[];
}

/** Errors keep pdf.js's names: 'InvalidPDFException', 'PasswordException', … */
export async function pdfText(data: Uint8Array): Promise<PdfText> {
  const lib = await loadPdfJs();
  const task = lib.getDocument({
    data,
    isEvalSupported: false,
    disableFontFace: true,
    useSystemFonts: false,
    verbosity: lib.VerbosityLevel.ERRORS,
  });
  try {
    const doc = await task.promise;
    const pages: string[] = [];
    for (let n = 1; n <= doc.numPages; n++) {
      const page = await doc.getPage(n);
      const content = await page.getTextContent();
      let text = '';
      for (const item of content.items) {
        if (!('str' in item)) continue;
        text += item.str;
        if (item.hasEOL) text += '\n';
      }
      pages.push(text);
      page.cleanup();
    }
    return { pages };
  } finally {
    await task.destroy();
  }
}
