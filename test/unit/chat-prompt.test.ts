import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  ChatTemplate,
  chatTemplateFromConfig,
  followUpQuery,
  plainDocumentPrompt,
  plainFollowUpQuery,
  splitDocumentPrompt,
  type ChatHistory,
} from '../../src/model/chat-prompt.ts';
import { createTokenizer } from '../../src/model/tokenizer.ts';

const text = (name: string) => readFileSync(new URL(`../fixtures/text/${name}`, import.meta.url), 'utf8');
const DATE = new Date(2025, 1, 3); // 03 Feb 2025, local time like Python's strftime

const LLAMA_SYSTEM_31 = 'Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n';
const LLAMA_SYSTEM_32 = 'Cutting Knowledge Date: December 2023\nToday Date: 03 Feb 2025\n\n';

interface Case {
  file: string;
  bos: string;
  eos: string;
  /** The full render of [user: "The doc.\n\nWhat?"] with the generation prompt, as transformers gives it. */
  full: string;
  /** … and with a system message "Be brief." */
  withSystem: string;
  /** What followUpQuery appends after answer "It is X." for the question "Why?". */
  followUp: string;
}

const cases: Case[] = [
  {
    file: 'llama-3.1-instruct.jinja',
    bos: '<|begin_of_text|>',
    eos: '<|eot_id|>',
    full:
      `<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n${LLAMA_SYSTEM_31}<|eot_id|>` +
      '<|start_header_id|>user<|end_header_id|>\n\nThe doc.\n\nWhat?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n',
    withSystem:
      `<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n${LLAMA_SYSTEM_31}Be brief.<|eot_id|>` +
      '<|start_header_id|>user<|end_header_id|>\n\nThe doc.\n\nWhat?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n',
    followUp: '<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nWhy?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n',
  },
  {
    file: 'llama-3.2-instruct.jinja',
    bos: '<|begin_of_text|>',
    eos: '<|eot_id|>',
    full:
      `<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n${LLAMA_SYSTEM_32}<|eot_id|>` +
      '<|start_header_id|>user<|end_header_id|>\n\nThe doc.\n\nWhat?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n',
    withSystem:
      `<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n${LLAMA_SYSTEM_32}Be brief.<|eot_id|>` +
      '<|start_header_id|>user<|end_header_id|>\n\nThe doc.\n\nWhat?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n',
    followUp: '<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nWhy?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n',
  },
  {
    file: 'qwen2.5-instruct.jinja',
    bos: '',
    eos: '<|im_end|>',
    full:
      '<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n' +
      '<|im_start|>user\nThe doc.\n\nWhat?<|im_end|>\n<|im_start|>assistant\n',
    withSystem: '<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nThe doc.\n\nWhat?<|im_end|>\n<|im_start|>assistant\n',
    followUp: '<|im_end|>\n<|im_start|>user\nWhy?<|im_end|>\n<|im_start|>assistant\n',
  },
  {
    file: 'qwen3.jinja',
    bos: '',
    eos: '<|im_end|>',
    full: '<|im_start|>user\nThe doc.\n\nWhat?<|im_end|>\n<|im_start|>assistant\n',
    withSystem: '<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nThe doc.\n\nWhat?<|im_end|>\n<|im_start|>assistant\n',
    followUp: '<|im_end|>\n<|im_start|>user\nWhy?<|im_end|>\n<|im_start|>assistant\n',
  },
  {
    file: 'smollm2-instruct.jinja',
    bos: '<|im_start|>',
    eos: '<|im_end|>',
    full:
      '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' +
      '<|im_start|>user\nThe doc.\n\nWhat?<|im_end|>\n<|im_start|>assistant\n',
    withSystem: '<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nThe doc.\n\nWhat?<|im_end|>\n<|im_start|>assistant\n',
    followUp: '<|im_end|>\n<|im_start|>user\nWhy?<|im_end|>\n<|im_start|>assistant\n',
  },
];

function template(c: Case, variables?: Record<string, unknown>): ChatTemplate {
  return new ChatTemplate(text(c.file), { bosToken: c.bos, eosToken: c.eos, date: DATE, variables });
}

describe.each(cases)('$file', (c) => {
  it('renders the real template like transformers does', () => {
    const t = template(c);
    expect(t.render([{ role: 'user', content: 'The doc.\n\nWhat?' }], true)).toBe(c.full);
  });

  it('splits the prompt where the question starts', () => {
    const p = splitDocumentPrompt(template(c), { document: 'The doc.', question: 'What?' });
    expect(p.context + p.query).toBe(c.full);
    expect(p.context.endsWith('The doc.\n\n')).toBe(true);
    expect(p.query.startsWith('What?')).toBe(true);
    expect(p.addSpecialTokens).toBe(false);
  });

  it('puts the system prompt in the context', () => {
    const p = splitDocumentPrompt(template(c), { system: 'Be brief.', document: 'The doc.', question: 'What?' });
    expect(p.context + p.query).toBe(c.withSystem);
    expect(p.context).toContain('Be brief.');
  });

  it('trims the question and keeps a long, awkward document intact', () => {
    const document = 'Line {{ not jinja }} {% raw %}\n'.repeat(2000) + 'café 😀 <|im_end|>';
    const p = splitDocumentPrompt(template(c), { document, question: '  What?\n' });
    expect(p.context).toContain(document.trim());
    expect(p.query.startsWith('What?')).toBe(true);
    expect(p.context + p.query).toBe(
      template(c).render([{ role: 'user', content: document + '\n\nWhat?' }], true),
    );
  });

  it('follow-up: appends the end of the answer turn, the new question and the assistant header', () => {
    const t = template(c);
    const first = splitDocumentPrompt(t, { document: 'The doc.', question: 'What?' });
    const history: ChatHistory = {
      document: 'The doc.',
      turns: [{ question: 'What?', answer: 'It is X.' }],
      fed: first.context + first.query + 'It is X.',
    };
    const next = followUpQuery(t, history, 'Why?');
    expect(next).toBe(c.followUp);
    // What the KV holds is then exactly the render of the whole conversation.
    const conversation = [
      { role: 'user' as const, content: 'The doc.\n\nWhat?' },
      { role: 'assistant' as const, content: 'It is X.' },
      { role: 'user' as const, content: 'Why?' },
    ];
    expect(history.fed + next).toBe(t.render(conversation, true));

    // A third question after a second answer.
    const history2: ChatHistory = {
      document: 'The doc.',
      turns: [...history.turns, { question: 'Why?', answer: 'Because.' }],
      fed: history.fed + next + 'Because.',
    };
    const third = followUpQuery(t, history2, 'Sure?');
    expect(history2.fed + third).toBe(
      t.render(
        [...conversation, { role: 'assistant', content: 'Because.' }, { role: 'user', content: 'Sure?' }],
        true,
      ),
    );
  });
});

describe('tokenizing the split', () => {
  // Phase 1 and phase 2 are tokenized apart: the split must fall on a token boundary.
  const pairs = [
    { template: cases[1], tokenizer: 'llama3-style.tokenizer.json' },
    { template: cases[2], tokenizer: 'qwen2-style.tokenizer.json' },
  ];
  for (const { template: c, tokenizer } of pairs) {
    it(`${c.file} with a ${tokenizer}: context ids + query ids = ids of the whole prompt`, () => {
      const t = createTokenizer(JSON.parse(text(tokenizer)), { bos_token: c.bos || null, eos_token: c.eos });
      for (const [document, question] of [
        ['Hello world in the 😀 text.', 'What is in the text?'],
        ['Ends with spaces   ', '  Why?'],
        ['Ends with a newline\n', '2 + 2?'],
        ['中文', '中?'],
        ['', "It's"],
      ]) {
        const p = splitDocumentPrompt(template(c), { document, question });
        const ids = [
          ...t.encode(p.context, { addSpecialTokens: p.addSpecialTokens }),
          ...t.encode(p.query, { addSpecialTokens: false }),
        ];
        expect(ids).toEqual(t.encode(p.context + p.query, { addSpecialTokens: false }));
      }
    });
  }
});

describe('followUpQuery when the template rewrites earlier answers', () => {
  const qwen3 = cases[3];

  it('Qwen3 drops the <think> block of past answers: the old text is no prefix, the KV keeps it', () => {
    const t = template(qwen3);
    const first = splitDocumentPrompt(t, { document: 'The doc.', question: 'What?' });
    const answer = '<think>\nLet me look.\n</think>\n\nIt is X.';
    const history: ChatHistory = {
      document: 'The doc.',
      turns: [{ question: 'What?', answer }],
      fed: first.context + first.query + answer,
    };
    const whole = t.render(
      [
        { role: 'user', content: 'The doc.\n\nWhat?' },
        { role: 'assistant', content: answer },
        { role: 'user', content: 'Why?' },
      ],
      true,
    );
    expect(whole).not.toContain('Let me look.');
    expect(whole.startsWith(history.fed)).toBe(false);
    expect(followUpQuery(t, history, 'Why?')).toBe(qwen3.followUp);
  });

  it('Qwen3 with thinking off: the empty think block of the query is not in the re-render either', () => {
    const t = template(qwen3, { enable_thinking: false });
    const first = splitDocumentPrompt(t, { document: 'The doc.', question: 'What?' });
    expect(first.query).toBe('What?<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n');
    const history: ChatHistory = {
      document: 'The doc.',
      turns: [{ question: 'What?', answer: 'It is X.' }],
      fed: first.context + first.query + 'It is X.',
    };
    expect(followUpQuery(t, history, 'Why?')).toBe(
      '<|im_end|>\n<|im_start|>user\nWhy?<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n',
    );
  });

  it('a template whose continuation depends on the history still gets the right text', () => {
    // Numbers the user turns: the follow-up must say [2].
    const t = new ChatTemplate(
      "{% for m in messages %}{% if m.role == 'user' %}[{{ loop.index0 // 2 + 1 }}] {{ m.content }}\n" +
        '{% else %}{{ m.content }}\n{% endif %}{% endfor %}{% if add_generation_prompt %}>{% endif %}',
    );
    const first = splitDocumentPrompt(t, { document: 'Doc', question: 'Q1' });
    expect(first).toEqual({ context: '[1] Doc\n\n', query: 'Q1\n>', addSpecialTokens: false });
    const history = { document: 'Doc', turns: [{ question: 'Q1', answer: 'A1' }], fed: 'x' };
    // fed that is not a prefix takes the fallback; both paths must agree here.
    expect(followUpQuery(t, history, 'Q2')).toBe('\n[2] Q2\n>');
    expect(followUpQuery(t, { ...history, fed: first.context + first.query + 'A1' }, 'Q2')).toBe('\n[2] Q2\n>');
  });
});

describe('a template without a system role (Gemma 2)', () => {
  // google/gemma-2-2b-it's chat template.
  const gemma2 =
    "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}" +
    "{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}" +
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}" +
    "{% if (message['role'] == 'assistant') %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}{% endif %}" +
    "{{ '<start_of_turn>' + role + '\\n' + message['content'] | trim + '<end_of_turn>\\n' }}{% endfor %}" +
    "{% if add_generation_prompt %}{{'<start_of_turn>model\\n'}}{% endif %}";

  it('the system prompt opens the first user message; follow-ups still extend the render', () => {
    const t = new ChatTemplate(gemma2, { bosToken: '<bos>', eosToken: '<eos>' });
    expect(t.systemRole).toBe(false);
    const p = splitDocumentPrompt(t, { system: 'Be brief.', document: 'The doc.', question: 'What?' });
    expect(p.context + p.query).toBe('<bos><start_of_turn>user\nBe brief.\n\nThe doc.\n\nWhat?<end_of_turn>\n<start_of_turn>model\n');
    const history: ChatHistory = { system: 'Be brief.', document: 'The doc.', turns: [{ question: 'What?', answer: 'It is X.' }], fed: p.context + p.query + 'It is X.' };
    expect(followUpQuery(t, history, 'Why?')).toBe('<end_of_turn>\n<start_of_turn>user\nWhy?<end_of_turn>\n<start_of_turn>model\n');
  });

  it('templates with a system role keep it as a message', () => {
    expect(new ChatTemplate(text('qwen3.jinja')).systemRole).toBe(true);
  });
});

describe('errors', () => {
  it('refuses a template that changes with the question', () => {
    const t = new ChatTemplate("{{ messages[0].content | upper }}{% if add_generation_prompt %}>{% endif %}");
    expect(() => splitDocumentPrompt(t, { document: 'doc', question: 'q' })).toThrow(/question/);
  });

  it('refuses a follow-up without an earlier turn', () => {
    const t = template(cases[2]);
    expect(() => followUpQuery(t, { document: 'd', turns: [], fed: '' }, 'q')).toThrow(/splitDocumentPrompt/);
  });
});

describe('chatTemplateFromConfig', () => {
  it('takes the string template and the special tokens of tokenizer_config.json', () => {
    const t = chatTemplateFromConfig(
      { chat_template: text('llama-3.1-instruct.jinja'), bos_token: { content: '<|begin_of_text|>' }, eos_token: '<|eot_id|>' },
      { date: DATE },
    );
    expect(t?.render([{ role: 'user', content: 'The doc.\n\nWhat?' }], true)).toBe(cases[0].full);
  });

  it('picks "default" from a list of named templates, or another by name', () => {
    const config = {
      chat_template: [
        { name: 'tool_use', template: 'TOOLS' },
        { name: 'default', template: 'DEFAULT' },
      ],
    };
    expect(chatTemplateFromConfig(config)?.render([], false)).toBe('DEFAULT');
    expect(chatTemplateFromConfig(config, { name: 'tool_use' })?.render([], false)).toBe('TOOLS');
    expect(() => chatTemplateFromConfig(config, { name: 'rag' })).toThrow(/rag/);
  });

  it('returns undefined for base models, and prefers a chat_template.jinja file', () => {
    expect(chatTemplateFromConfig({ bos_token: '<s>' })).toBeUndefined();
    expect(chatTemplateFromConfig({ chat_template: 'A' }, { source: 'B' })?.render([], false)).toBe('B');
  });

  it('formats strftime_now in the C locale on the given date', () => {
    const t = new ChatTemplate('{{ strftime_now("%A %d %B %Y, %a %b %H:%M %%") }}', { date: new Date(2024, 6, 26, 9, 5) });
    expect(t.render([], false)).toBe('Friday 26 July 2024, Fri Jul 09:05 %');
  });
});

describe('plain layout (base models)', () => {
  it('puts the document in the context and asks in the query', () => {
    expect(plainDocumentPrompt({ document: 'The doc.', question: ' What? ' })).toEqual({
      context: 'The doc.\n\n',
      query: 'Question: What?\nAnswer:',
      addSpecialTokens: true,
    });
    expect(plainDocumentPrompt({ system: 'Read.', document: 'D', question: 'Q' }).context).toBe('Read.\n\nD\n\n');
    expect(plainFollowUpQuery('Why?')).toBe('\n\nQuestion: Why?\nAnswer:');
  });
});
