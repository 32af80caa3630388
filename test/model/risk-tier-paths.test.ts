/**
 * Model-based test of the risk tier, decided first in `hard_gates`: for each tier (none, low,
 * medium, high) with and without --risk-allow-high, and a hard gate that passes or fails, the
 * machine's paths (every stage passing) are read from its graph and checked against an oracle
 * written out by hand: a high tier not allowed blocks before anything (and before the hard gates).
 */
import { describe, it } from 'vitest';
import { getSimplePaths } from 'xstate/graph';
import { baseSettings } from './loop-model.js';
import type { LoopSettings, LoopState } from '../../machines/loops.js';
import type { RiskTierSettings } from '../../machines/risk-tier.js';
import { orchestrationMachine } from '../../src/index.js';

const TIERS = [null, 'low', 'medium', 'high'] as const;

function settingsOf(tier: (typeof TIERS)[number], allowHigh: boolean, hardGateHit: boolean): LoopSettings {
  const riskTier: RiskTierSettings | null = tier === null ? null : { tier, signals: [], allowHigh };
  return baseSettings({
    hardGates: { rules: [{ id: 'r', category: 'secrets', pattern: 'dump-secrets', mode: 'match_any_invocation_arg' }], tokens: hardGateHit ? ['dump-secrets'] : ['ok'], loadFailed: false },
    riskTier,
  });
}

const events = ((snapshot: { value: unknown; status: string }) =>
  snapshot.status === 'active' ? [{ type: 'xstate.done.actor.stageWork', output: { stage: String(snapshot.value), status: 'success', error: null, completedSteps: [], spentCost: 0 } }] : []) as never;

describe('the risk tier before the hard gates, on every path', () => {
  let total = 0;
  for (const tier of TIERS) {
    for (const allowHigh of [false, true]) {
      for (const hardGateHit of [false, true]) {
        const name = `tier ${tier ?? 'off'}${allowHigh ? ', high allowed' : ''}, hard gate ${hardGateHit ? 'hit' : 'clear'}`;
        it(name, ({ expect }) => {
          const paths = getSimplePaths(orchestrationMachine, { input: { runId: 'model', simulateBlocked: false, loops: settingsOf(tier, allowHigh, hardGateHit) }, events }).filter((p) => p.state.status === 'done');
          total += paths.length;
          expect(paths).toHaveLength(1);
          const { state, steps } = paths[0]!;
          const loops = state.context.loops as LoopState;
          const riskBlocks = tier === 'high' && !allowHigh;
          const want = riskBlocks ? { end: 'blocked', by: 'risk_tier', codes: ['RISK_TIER_HIGH_BLOCKED'] } : hardGateHit ? { end: 'blocked', by: 'hard_gates', codes: ['HARD_GATE_SECRET_POLICY_VIOLATION'] } : { end: 'done', by: null, codes: [] };
          expect([String(state.value), loops.blockedBy, loops.blockedReasonCodes]).toEqual([want.end, want.by, want.codes]);
          // Blocked by either: no stage was entered (the path has no stage work); a risk block decides no hard gate.
          if (want.end === 'blocked') expect(steps.filter((s) => s.event.type.startsWith('xstate.done.actor'))).toEqual([]);
          if (riskBlocks) expect(loops.hardGateResults).toEqual([]);
        });
      }
    }
  }

  it('adds up: 16 combinations, one path each', ({ expect }) => {
    expect(total).toBe(16);
  });
});
