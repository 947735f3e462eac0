// The prompt layout of Star Attention. Phase 1 encodes the context: everything the chat template
// renders before the question (BOS, system prompt, user header, the document). Phase 2's query is the
// rest of the render: the question, the end of the user turn and the assistant header. Follow-up
// questions append to the query host's KV, which already holds the earlier questions and answers.

import { Template } from '@huggingface/jinja';
import { configToken } from './tokenizer.ts';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface ChatTemplateOptions {
  bosToken?: string;
  eosToken?: string;
  padToken?: string;
  unkToken?: string;
  /** Today for templates that print the date (Llama 3.x); fixed per template so renders agree. */
  date?: Date;
  /** Extra template variables, e.g. { enable_thinking: false } for Qwen3. */
  variables?: Record<string, unknown>;
}

/** A compiled chat template with the variables transformers' apply_chat_template passes it. */
export class ChatTemplate {
  private readonly template: Template;
  private readonly variables: Record<string, unknown>;
  /**
   * Whether the template takes a system message. Gemma 2's raises "System role not supported"; the
   * system prompt then opens the first user message, as Gemma 3's template itself does.
   */
  readonly systemRole: boolean;

  constructor(source: string, options: ChatTemplateOptions = {}) {
    this.template = new Template(source);
    // The jinja package declares its own strftime_now (today, the host locale's month names) and
    // refuses to redeclare globals; a leading `set` replaces it with Python's C-locale one on `date`.
    this.template.parsed.body.unshift(...new Template('{% set strftime_now = star_reader_strftime %}').parsed.body);
    const date = options.date ?? new Date();
    const specials = {
      bos_token: options.bosToken,
      eos_token: options.eosToken,
      pad_token: options.padToken,
      unk_token: options.unkToken,
    };
    this.variables = {
      // Like transformers' special_tokens_map: only the tokens the tokenizer has.
      ...Object.fromEntries(Object.entries(specials).filter(([, token]) => token !== undefined)),
      tools: null,
      documents: null,
      star_reader_strftime: (format: string) => strftime(date, format),
      ...options.variables,
    };
    this.systemRole = this.renders([
      { role: 'system', content: 's' },
      { role: 'user', content: 'u' },
    ]);
  }

  private renders(messages: readonly ChatMessage[]): boolean {
    try {
      this.render(messages, true);
      return true;
    } catch {
      return false;
    }
  }

  render(messages: readonly ChatMessage[], addGenerationPrompt: boolean): string {
    return this.template.render({
      ...this.variables,
      messages,
      add_generation_prompt: addGenerationPrompt,
    });
  }
}

/**
 * The chat template from tokenizer_config.json: `chat_template` is a string or a list of named
 * templates ({ name, template }); newer repos ship chat_template.jinja instead (pass its text).
 */
export function chatTemplateFromConfig(
  tokenizerConfig: unknown,
  options: { name?: string; source?: string; date?: Date; variables?: Record<string, unknown> } = {},
): ChatTemplate | undefined {
  const config = typeof tokenizerConfig === 'object' && tokenizerConfig !== null ? tokenizerConfig : {};
  const source = options.source ?? pickTemplate((config as { chat_template?: unknown }).chat_template, options.name);
  if (source === undefined) return undefined;
  return new ChatTemplate(source, {
    bosToken: configToken(config, 'bos_token'),
    eosToken: configToken(config, 'eos_token'),
    padToken: configToken(config, 'pad_token'),
    unkToken: configToken(config, 'unk_token'),
    date: options.date,
    variables: options.variables,
  });
}

function pickTemplate(value: unknown, name = 'default'): string | undefined {
  if (typeof value === 'string') return value;
  if (!Array.isArray(value)) return undefined;
  const named = value.filter(
    (t): t is { name: string; template: string } => typeof t?.name === 'string' && typeof t?.template === 'string',
  );
  const found = named.find((t) => t.name === name);
  if (found) return found.template;
  if (name !== 'default') {
    throw new Error(`chat template "${name}" not found (have ${named.map((t) => t.name).join(', ')})`);
  }
  return undefined;
}

export interface DocumentPromptInput {
  system?: string;
  document: string;
  question: string;
}

export interface DocumentPrompt {
  /** Phase 1 text. */
  context: string;
  /** Phase 2 text, appended right after the context. */
  query: string;
  /**
   * How to encode `context`: with the tokenizer's special tokens (BOS) for the plain layout, without
   * for a chat template's render, which holds them as text. `query` is always encoded without.
   */
  addSpecialTokens: boolean;
}

export interface ChatTurn {
  question: string;
  /** The answer as generated, decoded without the end-of-turn token that stopped it. */
  answer: string;
}

export interface ChatHistory {
  system?: string;
  document: string;
  /** Earlier turns, oldest first; the first turn's question is the one splitDocumentPrompt placed. */
  turns: readonly ChatTurn[];
  /** The exact text already in the query host's KV: context, query, answers and follow-ups, in order. */
  fed: string;
}

// Private-use characters: no template trims or escapes them, and documents do not contain them.
const QUESTION_MARK = '\uE000star-reader:question\uE001';
const ANSWER_MARK = '\uE000star-reader:answer\uE001';

function firstUserMessage(document: string, question: string): string {
  return document + '\n\n' + question;
}

function conversation(template: ChatTemplate, history: Omit<ChatHistory, 'fed'>, question: string, lastAnswer?: string): ChatMessage[] {
  const { system } = history;
  const systemMessage = system !== undefined && template.systemRole;
  const messages: ChatMessage[] = systemMessage ? [{ role: 'system', content: system }] : [];
  // Without a system role, the system prompt opens the first user message.
  const first = (q: string) => (system !== undefined && !systemMessage ? system + '\n\n' : '') + firstUserMessage(history.document, q);
  history.turns.forEach((turn, i) => {
    const content = i === 0 ? first(turn.question) : turn.question;
    const answer = i === history.turns.length - 1 && lastAnswer !== undefined ? lastAnswer : turn.answer;
    messages.push({ role: 'user', content }, { role: 'assistant', content: answer });
  });
  const content = history.turns.length === 0 ? first(question) : question;
  messages.push({ role: 'user', content });
  return messages;
}

function splitAt(text: string, mark: string): [string, string] {
  const at = text.indexOf(mark);
  if (at < 0 || text.indexOf(mark, at + 1) >= 0) {
    throw new Error('chat template: cannot locate the question in its render');
  }
  return [text.slice(0, at), text.slice(at + mark.length)];
}

/**
 * Renders [system?, user: document + "\n\n" + question] with the generation prompt and splits it where
 * the question starts. The question is trimmed: templates that trim message content (Llama 3) would
 * otherwise render a different text than the split. Throws if the template renders the question in a
 * way that makes context + query differ from the full render.
 */
export function splitDocumentPrompt(template: ChatTemplate, input: DocumentPromptInput): DocumentPrompt {
  const question = input.question.trim();
  const history = { system: input.system, document: input.document, turns: [] };
  const [context, rest] = splitAt(template.render(conversation(template, history, QUESTION_MARK), true), QUESTION_MARK);
  const query = question + rest;
  if (context + query !== template.render(conversation(template, history, question), true)) {
    throw new Error('chat template: the question changes the render around it; cannot split the prompt');
  }
  return { context, query, addSpecialTokens: false };
}

/**
 * The text to append to the query host's KV for a new question. Normally the whole conversation's
 * render minus what was fed. Templates that rewrite earlier turns (Qwen3 drops the <think> block of
 * past answers; Llama 3 trims them) make the old text no prefix of the new render: then the KV keeps
 * the answer as generated and this returns what the template puts after the last answer — the end of
 * the assistant turn, the new user turn and the generation prompt.
 */
export function followUpQuery(template: ChatTemplate, history: ChatHistory, question: string): string {
  if (history.turns.length === 0) throw new Error('followUpQuery: no earlier turn; use splitDocumentPrompt');
  const asked = question.trim();
  const full = template.render(conversation(template, history, asked), true);
  if (full.startsWith(history.fed)) return full.slice(history.fed.length);
  return splitAt(template.render(conversation(template, history, asked, ANSWER_MARK), true), ANSWER_MARK)[1];
}

/** For base models without a chat template. Generation should stop at PLAIN_STOP_STRINGS. */
export function plainDocumentPrompt(input: DocumentPromptInput): DocumentPrompt {
  const system = input.system === undefined ? '' : input.system + '\n\n';
  return { context: system + input.document + '\n\n', query: plainQuestion(input.question), addSpecialTokens: true };
}

export function plainFollowUpQuery(question: string): string {
  return '\n\n' + plainQuestion(question);
}

export const PLAIN_STOP_STRINGS: readonly string[] = ['\nQuestion:'];

function plainQuestion(question: string): string {
  return `Question: ${question.trim()}\nAnswer:`;
}

const MONTHS = 'January February March April May June July August September October November December'.split(' ');
const DAYS = 'Sunday Monday Tuesday Wednesday Thursday Friday Saturday'.split(' ');

function strftime(date: Date, format: string): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return format.replace(/%([a-zA-Z%])/g, (token, code: string) => {
    switch (code) {
      case 'Y':
        return String(date.getFullYear());
      case 'y':
        return pad(date.getFullYear() % 100);
      case 'm':
        return pad(date.getMonth() + 1);
      case 'd':
        return pad(date.getDate());
      case 'B':
        return MONTHS[date.getMonth()];
      case 'b':
        return MONTHS[date.getMonth()].slice(0, 3);
      case 'A':
        return DAYS[date.getDay()];
      case 'a':
        return DAYS[date.getDay()].slice(0, 3);
      case 'H':
        return pad(date.getHours());
      case 'M':
        return pad(date.getMinutes());
      case 'S':
        return pad(date.getSeconds());
      case '%':
        return '%';
      default:
        return token;
    }
  });
}
