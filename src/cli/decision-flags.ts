/**
 * The `k=v,...` values of V0's decision flags (`--decision-contribution`, `--decision-reliability`,
 * `--reviewer-verdict`), read as upstream's `cli_value_parsers.rs` reads them: segments split on
 * `,`, key and value trimmed, lists split on `|`, its error messages word for word.
 */
import type { DecisionContribution, ReliabilityInput, ReviewerVerdict, Vote } from '../../machines/decisions.js';

export type { DecisionContribution, ReliabilityInput, ReviewerVerdict };

type Fields = Map<string, string>;

/** Reads every segment; `known` says which keys the flag takes (anything else is refused by `unknown`). */
function fieldsOf(raw: string, what: string, known: readonly string[], read: (key: string, value: string) => void): void {
  for (const segment of raw.split(',')) {
    const at = segment.indexOf('=');
    if (at < 0) throw new Error(`Invalid ${what} segment '${segment}'`);
    const key = segment.slice(0, at).trim();
    const value = segment.slice(at + 1).trim();
    if (!known.includes(key)) throw new Error(`Unknown ${what} key '${key}'`);
    read(key, value);
  }
}

/** Rust's `u8` parse: digits (a leading `+` allowed), at most 255. */
function u8(value: string, message: string): number {
  if (!/^\+?\d+$/.test(value) || Number(value) > 255) throw new Error(message);
  return Number(value);
}

function pipeList(value: string): string[] {
  return value
    .split('|')
    .map((v) => v.trim())
    .filter((v) => v !== '');
}

function required(fields: Fields, key: string, what: string, hint = ''): string {
  const value = fields.get(key);
  if (value === undefined) throw new Error(`Missing ${what} field '${key}'${hint}`);
  return value;
}

function confidenceAndWeight(fields: Fields, what: string): { confidence: number; weight: number } {
  const confidence = Number(required(fields, 'confidence', what, ' (0..100)'));
  if (confidence > 100) throw new Error(`Invalid confidence '${confidence}', expected integer 0..100`);
  const weight = Number(required(fields, 'weight', what, ' (1..100)'));
  if (weight === 0 || weight > 100) throw new Error(`Invalid weight '${weight}', expected integer 1..100`);
  return { confidence, weight };
}

/** Confidence and weight are checked as numbers when read, and for their range after. */
function readNumbers(fields: Fields, key: string, value: string): boolean {
  if (key === 'confidence') fields.set(key, String(u8(value, `Invalid confidence '${value}', expected integer 0..100`)));
  else if (key === 'weight') fields.set(key, String(u8(value, `Invalid weight '${value}', expected integer 1..100`)));
  else return false;
  return true;
}

export function parseDecisionContribution(raw: string): DecisionContribution {
  const what = 'decision contribution';
  const fields: Fields = new Map();
  fieldsOf(raw, what, ['contributor_id', 'capability', 'vote', 'confidence', 'weight', 'reason_codes', 'artifact_refs'], (key, value) => {
    if (readNumbers(fields, key, value)) return;
    if (key === 'vote' && !['proceed', 'block', 'escalate'].includes(value)) throw new Error(`Invalid decision vote '${value}', expected proceed|block|escalate`);
    fields.set(key, value);
  });
  const { confidence, weight } = confidenceAndWeight(fields, what);
  return {
    contributor_id: required(fields, 'contributor_id', what),
    capability: required(fields, 'capability', what),
    vote: required(fields, 'vote', what) as Vote,
    confidence,
    weight,
    reason_codes: pipeList(fields.get('reason_codes') ?? ''),
    artifact_refs: pipeList(fields.get('artifact_refs') ?? ''),
  };
}

export function parseReviewerVerdict(raw: string): ReviewerVerdict {
  const what = 'reviewer verdict';
  const fields: Fields = new Map();
  fieldsOf(raw, what, ['reviewer_id', 'specialty', 'verdict', 'confidence', 'weight', 'reason_codes'], (key, value) => {
    if (readNumbers(fields, key, value)) return;
    if (key === 'verdict' && value !== 'approve' && value !== 'reject') throw new Error(`Invalid reviewer verdict '${value}', expected approve|reject`);
    fields.set(key, value);
  });
  const { confidence, weight } = confidenceAndWeight(fields, what);
  return {
    reviewer_id: required(fields, 'reviewer_id', what),
    specialty: required(fields, 'specialty', what),
    verdict: required(fields, 'verdict', what) as ReviewerVerdict['verdict'],
    confidence,
    weight,
    reason_codes: pipeList(fields.get('reason_codes') ?? ''),
  };
}

export function parseDecisionReliability(raw: string): ReliabilityInput {
  const what = 'decision reliability';
  const fields: Fields = new Map();
  fieldsOf(raw, what, ['contributor_id', 'capability', 'score'], (key, value) => {
    const message = `Invalid reliability score '${value}', expected integer 0..100`;
    fields.set(key, key === 'score' ? String(u8(value, message)) : value);
  });
  const score = Number(required(fields, 'score', what, ' (0..100)'));
  if (score > 100) throw new Error(`Invalid reliability score '${score}', expected integer 0..100`);
  return { contributor_id: required(fields, 'contributor_id', what), capability: required(fields, 'capability', what), score };
}
