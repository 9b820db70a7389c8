/**
 * EventBridge event pattern matching, for the local bus's rules (INGEST_EVENT_PATTERN). Supports
 * exact values, nested objects, `prefix`, `suffix`, `equals-ignore-case`, `anything-but` (values,
 * or a prefix / suffix), `exists`, `numeric` comparisons and `$or`. Anything else is rejected
 * when the pattern is checked, so a rule never silently matches differently than in AWS.
 */

export type EventPattern = { readonly [key: string]: unknown };

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

export class EventPatternError extends Error {}

/** Throws an EventPatternError naming the first unsupported or malformed part of the pattern. */
export function validateEventPattern(pattern: EventPattern, path = ''): void {
  if (!isObject(pattern)) throw new EventPatternError(`Event pattern${at(path)} must be an object`);
  for (const [key, value] of Object.entries(pattern)) {
    const here = path ? `${path}.${key}` : key;
    if (key === '$or') {
      if (!Array.isArray(value) || value.length < 2) throw new EventPatternError(`$or${at(path)} needs at least two patterns`);
      value.forEach((p) => validateEventPattern(p as EventPattern, path));
    } else if (Array.isArray(value)) {
      value.forEach((condition) => validateCondition(condition, here));
    } else if (isObject(value)) {
      validateEventPattern(value, here);
    } else {
      throw new EventPatternError(`Event pattern field ${here} must be an array of values or a nested object`);
    }
  }
}

function validateCondition(condition: unknown, path: string): void {
  if (!isObject(condition)) return;
  const entries = Object.entries(condition);
  if (entries.length !== 1) throw new EventPatternError(`Condition on ${path} must have exactly one operator`);
  const [operator, operand] = entries[0];
  const fail = (): never => {
    throw new EventPatternError(`Condition ${JSON.stringify(condition)} on ${path} is not supported`);
  };
  switch (operator) {
    case 'prefix':
    case 'suffix':
    case 'equals-ignore-case':
      if (typeof operand !== 'string') fail();
      return;
    case 'exists':
      if (typeof operand !== 'boolean') fail();
      return;
    case 'numeric':
      numericComparisons(operand) ?? fail();
      return;
    case 'anything-but':
      if (isObject(operand)) {
        const [inner] = Object.entries(operand);
        if (Object.keys(operand).length !== 1 || !['prefix', 'suffix'].includes(inner[0]) || typeof inner[1] !== 'string') fail();
      } else if (Array.isArray(operand) ? operand.some((v) => isObject(v) || Array.isArray(v)) : false) {
        fail();
      }
      return;
    default:
      fail();
  }
}

export function matchesEventPattern(pattern: EventPattern, event: unknown): boolean {
  if (!isObject(event)) return false;
  return Object.entries(pattern).every(([key, value]) => {
    if (key === '$or') return (value as EventPattern[]).some((alternative) => matchesEventPattern(alternative, event));
    const present = Object.prototype.hasOwnProperty.call(event, key);
    const field = present ? (event[key] as Json) : undefined;
    if (Array.isArray(value)) return matchesField(value, present, field);
    return present && matchesEventPattern(value as EventPattern, field);
  });
}

/** A field matches when any condition matches it, or (for an array field) any of its elements. */
function matchesField(conditions: readonly unknown[], present: boolean, field: Json | undefined): boolean {
  return conditions.some((condition) => {
    if (isObject(condition) && 'exists' in condition) {
      // `exists` looks at leaf values only, as in EventBridge.
      return condition.exists === (present && !isObject(field));
    }
    if (!present) return false;
    const values = Array.isArray(field) ? field : [field as Json];
    return values.some((v) => matchesCondition(condition, v));
  });
}

function matchesCondition(condition: unknown, value: Json): boolean {
  if (!isObject(condition)) return condition === value;
  const [operator, operand] = Object.entries(condition)[0];
  switch (operator) {
    case 'prefix':
      return typeof value === 'string' && value.startsWith(operand as string);
    case 'suffix':
      return typeof value === 'string' && value.endsWith(operand as string);
    case 'equals-ignore-case':
      return typeof value === 'string' && value.toLowerCase() === (operand as string).toLowerCase();
    case 'numeric':
      return typeof value === 'number' && numericComparisons(operand)!.every(([op, limit]) => compare(value, op, limit));
    case 'anything-but':
      return !anythingButExcludes(operand, value);
    default:
      return false;
  }
}

function anythingButExcludes(operand: unknown, value: Json): boolean {
  if (isObject(operand)) {
    if (typeof value !== 'string') return false;
    return 'prefix' in operand ? value.startsWith(operand.prefix as string) : value.endsWith(operand.suffix as string);
  }
  const excluded = Array.isArray(operand) ? operand : [operand];
  return excluded.some((e) => e === value);
}

type Comparison = ['<' | '<=' | '=' | '>=' | '>', number];

/** `["<", 5]`, `[">=", 0, "<", 10]`, `["=", 3]` → the comparisons, or undefined if malformed. */
function numericComparisons(operand: unknown): Comparison[] | undefined {
  if (!Array.isArray(operand) || operand.length === 0 || operand.length % 2 !== 0 || operand.length > 4) return undefined;
  const comparisons: Comparison[] = [];
  for (let i = 0; i < operand.length; i += 2) {
    const [op, limit] = [operand[i], operand[i + 1]];
    if (!['<', '<=', '=', '>=', '>'].includes(op) || typeof limit !== 'number') return undefined;
    comparisons.push([op, limit]);
  }
  return comparisons;
}

function compare(value: number, op: Comparison[0], limit: number): boolean {
  switch (op) {
    case '<':
      return value < limit;
    case '<=':
      return value <= limit;
    case '=':
      return value === limit;
    case '>=':
      return value >= limit;
    case '>':
      return value > limit;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function at(path: string): string {
  return path ? ` at ${path}` : '';
}
