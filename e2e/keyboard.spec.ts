// The reader by keyboard alone, with the real engine and the demo model: Tab reaches every control of
// each state, each has an accessible name and a visible focus ring, and the whole flow — settings,
// model, pasted document, question, copy — runs on Tab, arrows, typing and Enter.
import assert from 'node:assert/strict';
import type { Locator, Page } from 'playwright-core';
import { expectText, expectVisible, suite } from './support/harness.ts';

const t = suite('keyboard');

interface Stop {
  key: string;
  name: string;
  ring: boolean;
}

/** Marks every control Tab must reach in the page as it is now; returns their keys and names. */
async function markControls(page: Page): Promise<Map<string, string>> {
  const controls = await page.evaluate(() => {
    const candidates = [
      ...document.querySelectorAll<HTMLElement>('a[href], button, input, textarea, select, summary, [tabindex]'),
    ].filter((el) => {
      if (el.tabIndex < 0 || (el as HTMLButtonElement).disabled) return false;
      // Hidden radio inputs of a segmented control are drawn by their label: they count.
      const shown = el.matches('.segmented input') ? el.parentElement! : el;
      const box = shown.getBoundingClientRect();
      if (box.width === 0 || box.height === 0 || getComputedStyle(shown).visibility === 'hidden') return false;
      if (el.closest('details:not([open]) > :not(summary)')) return false;
      // In a radio group Tab stops at the checked radio; the arrows move between them.
      const radio = el as HTMLInputElement;
      if (radio.type === 'radio' && !radio.checked && document.querySelector(`input[type=radio][name="${CSS.escape(radio.name)}"]:checked`)) return false;
      return true;
    });
    return candidates.map((el, i) => {
      el.dataset.kb = String(i);
      return [String(i), el.outerHTML.slice(0, 100)] as const;
    });
  });
  return new Map(controls);
}

/** The focused element: its mark, accessible name (as a screen reader computes it, roughly) and whether focus shows. */
function focused(page: Page): Promise<Stop | undefined> {
  return page.evaluate(() => {
    const el = document.activeElement as (HTMLElement & { labels?: NodeListOf<HTMLLabelElement> | null }) | null;
    if (!el || el === document.body) return undefined;
    const byIds = (el.getAttribute('aria-labelledby') ?? '')
      .split(' ')
      .map((id) => document.getElementById(id)?.textContent?.trim() ?? '')
      .join(' ')
      .trim();
    const name =
      el.getAttribute('aria-label') ||
      byIds ||
      [...(el.labels ?? [])].map((l) => l.textContent?.trim()).join(' ') ||
      (['BUTTON', 'A', 'SUMMARY'].includes(el.tagName) ? el.textContent?.trim() : '') ||
      el.getAttribute('title') ||
      '';
    const shown = el.matches('.segmented input') ? el.parentElement! : el;
    const style = getComputedStyle(shown);
    const ring = (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2) || style.boxShadow !== 'none';
    return { key: el.dataset.kb ?? `unmarked ${el.outerHTML.slice(0, 80)}`, name, ring };
  });
}

/** Tabs from the top of the page to its end; every stop must be named and show focus. */
async function tabThrough(page: Page): Promise<Stop[]> {
  // Tab starts from a focusable point in front of everything: a click at the page's corner would land
  // wherever the page has scrolled to (a tall answered chat scrolls it).
  await page.evaluate(() => {
    const start = document.createElement('span');
    start.tabIndex = -1;
    document.body.prepend(start);
    start.focus();
  });
  const stops: Stop[] = [];
  for (let i = 0; i < 200; i++) {
    await page.keyboard.press('Tab');
    const stop = await focused(page);
    if (!stop || stops.some((s) => s.key === stop.key)) break;
    stops.push(stop);
  }
  return stops;
}

async function everyControlReached(page: Page, state: string): Promise<void> {
  const controls = await markControls(page);
  const stops = await tabThrough(page);
  const missed = [...controls].filter(([key]) => !stops.some((s) => s.key === key)).map(([, html]) => html);
  assert.deepEqual(missed, [], `${state}: Tab reaches every control`);
  assert.deepEqual(stops.filter((s) => !s.name).map((s) => s.key), [], `${state}: every control has a name`);
  assert.deepEqual(stops.filter((s) => !s.ring).map((s) => `${s.name} (${s.key})`), [], `${state}: focus is visible on every control`);
}

/** Presses Tab until `target` has focus. */
async function tabTo(page: Page, target: Locator): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await target.evaluate((el) => el === document.activeElement).catch(() => false)) return;
    await page.keyboard.press('Tab');
  }
  throw new Error(`Tab never reached ${target}`);
}

t.test('every control is named; the whole flow runs from the keyboard with focus always visible', async ({ page, context, url, screenshots }) => {
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  await page.goto(url());
  await expectText(page.getByTestId('adapter-name'), /swiftshader/i);

  // What assistive technology announces for the main controls.
  for (const [role, name] of [
    ['link', 'Reader'],
    ['link', 'Speedup demo'],
    ['radio', /^Embedded demo model/],
    ['radio', /^Qwen2\.5-0\.5B-Instruct/],
    ['textbox', 'Hub repo id'],
    ['button', 'Choose folder…'],
    ['button', 'Load Embedded demo model'],
    ['button', 'Choose file…'],
    ['button', 'Paste text'],
    ['textbox', 'Question'],
    ['button', 'Ask'],
    ['radio', 'Star'],
    ['radio', 'Full'],
    ['radio', 'Auto'],
    ['spinbutton', 'Block size in tokens'],
    ['spinbutton', 'Hosts'],
    ['spinbutton', 'GPU memory budget (GB)'],
    ['spinbutton', 'Temperature'],
    ['spinbutton', 'Max tokens'],
    ['list', 'Questions and answers'],
  ] as const) {
    assert.equal(await page.getByRole(role, { name, exact: typeof name === 'string' }).count(), 1, `one ${role} named ${name}`);
  }
  await everyControlReached(page, 'no model');

  // Settings: typing into a number field; arrows move within a radio group.
  await tabTo(page, page.getByRole('spinbutton', { name: 'Max tokens' }));
  await page.keyboard.press('Control+A');
  await page.keyboard.type('4');
  await tabTo(page, page.getByRole('radio', { name: /^Embedded demo model/ }));
  await page.keyboard.press('ArrowDown');
  assert.ok(await page.getByRole('radio', { name: /^Qwen2\.5-0\.5B-Instruct/ }).isChecked());
  await expectText(page.getByTestId('load-model'), /Load Qwen2\.5-0\.5B-Instruct/);
  await page.keyboard.press('ArrowUp');
  await expectText(page.getByTestId('load-model'), /Load Embedded demo model/);

  // Model.
  await tabTo(page, page.getByRole('button', { name: 'Load Embedded demo model' }));
  await page.keyboard.press('Enter');
  await expectVisible(page.getByTestId('model-loaded'), 120_000);

  // Document: open the paste box, type, use it.
  await tabTo(page, page.getByRole('button', { name: 'Paste text' }));
  await page.keyboard.press('Enter');
  await tabTo(page, page.getByRole('textbox', { name: "Paste the document's text" }));
  await page.keyboard.type('The lighthouse keeper counted forty-two ships in March.');
  await tabTo(page, page.getByRole('button', { name: 'Use pasted text' }));
  await page.keyboard.press('Enter');
  await expectVisible(page.getByTestId('token-count'), 60_000);
  await everyControlReached(page, 'document added');

  // Question: Enter sends it.
  await tabTo(page, page.getByRole('textbox', { name: 'Question' }));
  await page.keyboard.type('How many ships?');
  await page.keyboard.press('Enter');
  const answer = page.locator('[data-testid="message-answer"][data-status="done"]');
  await expectVisible(answer, 180_000);
  await expectText(answer.getByTestId('answer-stats'), /tokens\/s/);

  // Copy the answer.
  await tabTo(page, page.getByRole('button', { name: 'Copy' }));
  await page.keyboard.press('Enter');
  await expectText(page.getByRole('button', { name: 'Copied' }), /Copied/);
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), await answer.getByTestId('answer-text').innerText());
  await screenshots('keyboard-answered', { at: page.getByTestId('chat-panel') });
  await everyControlReached(page, 'answered');
});

await t.run();
