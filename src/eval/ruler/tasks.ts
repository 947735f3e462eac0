// The RULER tasks Star Reader generates, under RULER's names so figures compare.
import { NIAH_TASKS } from './niah.ts';
import { VARIABLE_TRACKING } from './variable-tracking.ts';
import { COMMON_WORDS } from './common-words.ts';
import type { RulerTask } from './task.ts';

export const RULER_TASKS: readonly RulerTask[] = [...NIAH_TASKS, VARIABLE_TRACKING, COMMON_WORDS];

export function rulerTask(name: string): RulerTask {
  const task = RULER_TASKS.find((t) => t.name === name);
  if (!task) throw new RangeError(`Unknown RULER task "${name}"; tasks: ${RULER_TASKS.map((t) => t.name).join(', ')}`);
  return task;
}
