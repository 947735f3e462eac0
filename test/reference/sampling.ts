// Plain-TypeScript reference for the GPU candidate selection (shaders/sample_*.wgsl): penalised scores,
// the C best ids (score descending, lower id first on ties), the best score and the softmax mass of the rest.
import { penalised, type SamplingPlan } from '../../src/model/sampling.ts';

export interface CandidatesRef {
  ids: number[];
  bestOther: number;
  restMass: number;
}

export function candidatesRef(logits: Float32Array, seen: Uint8Array, plan: SamplingPlan, count: number): CandidatesRef {
  const n = plan.vocabSize;
  const scores = Array.from({ length: n }, (_, i) => penalised(logits[i], seen[i] === 1, plan));
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[b] - scores[a] || a - b);
  const max = scores[order[0]];
  const others = order.slice(count);
  return {
    ids: order.slice(0, count),
    bestOther: others.length > 0 ? scores[others[0]] : -Infinity,
    restMass: others.reduce((sum, i) => sum + Math.exp((scores[i] - max) / plan.temperature), 0),
  };
}
