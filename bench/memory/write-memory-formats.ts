// Writes bench/results/memory-formats.md (see memory-formats.ts).
import { writeFile } from 'node:fs/promises';
import { memoryFormatsMarkdown } from './memory-formats.ts';

await writeFile(new URL('../results/memory-formats.md', import.meta.url), memoryFormatsMarkdown());
