import { describe, expect, it } from 'vitest';

import {
  conditionToTree,
  emptyGroup,
  type EventNode,
  type GroupNode,
  newRule,
  removeNode,
  replaceNode,
  treeProblems,
  treeToCondition,
} from './conditions';
import type { Condition } from './settings';

const ROUND_TRIPS: [string, Condition][] = [
  ['an attribute rule', { attribute: 'plan', op: 'eq', value: 'pro' }],
  ['a unary op without value', { attribute: 'email', op: 'exists' }],
  ['a list value', { attribute: 'country', op: 'in', value: ['FR', 'DE'] }],
  ['a duration value', { attribute: 'created_at', op: 'within_last', value: { value: 30, unit: 'days' } }],
  [
    'an event with filters, count and window',
    {
      event: 'purchase',
      where: [{ property: 'amount', op: 'gte', value: 50 }],
      count: { op: 'gte', value: 2 },
      within: { value: 30, unit: 'days' },
    },
  ],
  ['a bare event', { event: 'cart_abandoned' }],
  ['list and segment references', { any: [{ list: 3 }, { segment: 9 }] }],
  ['a negated rule', { not: { attribute: 'tags', op: 'contains', value: 'vip' } }],
  ['a double negation', { not: { not: { list: 1 } } }],
  [
    'nested and/or/not groups',
    {
      all: [
        { attribute: 'plan', op: 'eq', value: 'pro' },
        { any: [{ event: 'login', within: { value: 7, unit: 'days' } }, { not: { all: [{ list: 2 }, { segment: 4 }] } }] },
      ],
    },
  ],
  ['an empty group', { all: [] }],
  ['an explicit empty where kept verbatim', { event: 'open', where: [] }],
  ['an unknown shape kept verbatim', { all: [{ attribute: 'x', op: 'eq', value: 1, extra: true } as unknown as Condition] }],
];

describe('condition ⇄ tree', () => {
  it.each(ROUND_TRIPS)('round-trips %s exactly', (_name, condition) => {
    expect(treeToCondition(conditionToTree(condition))).toEqual(condition);
  });

  it('reads a nested condition into groups with negation flags', () => {
    const tree = conditionToTree({ any: [{ not: { all: [{ list: 2 }] } }, { segment: 4 }] });
    expect(tree.op).toBe('any');
    const [inner, ref] = tree.children;
    expect(inner).toMatchObject({ kind: 'group', op: 'all', negate: true });
    expect((inner as GroupNode).children[0]).toMatchObject({ kind: 'list', id: 2, negate: false });
    expect(ref).toMatchObject({ kind: 'segment', id: 4, negate: false });
  });

  it('starts an empty builder as an empty "all" group', () => {
    expect(treeToCondition(conditionToTree(null))).toEqual({ all: [] });
  });

  it('writes a bare rule back as a group once a second rule is added', () => {
    const tree = conditionToTree({ attribute: 'plan', op: 'eq', value: 'pro' });
    const grown: GroupNode = { ...tree, children: [...tree.children, { ...newRule('list'), id: 5 } as never] };
    expect(treeToCondition(grown)).toEqual({ all: [{ attribute: 'plan', op: 'eq', value: 'pro' }, { list: 5 }] });
  });

  it('drops the value of an attribute rule switched to a unary op', () => {
    const tree = conditionToTree({ all: [{ attribute: 'phone', op: 'eq', value: '+33' }] });
    const rule = tree.children[0];
    const next = replaceNode(tree, rule.key, { ...rule, op: 'not_exists' } as never);
    expect(treeToCondition(next)).toEqual({ all: [{ attribute: 'phone', op: 'not_exists' }] });
  });

  it('edits and removes nodes deep in the tree without touching the rest', () => {
    const tree = conditionToTree({ all: [{ list: 1 }, { any: [{ event: 'a' }, { event: 'b' }] }] });
    const group = tree.children[1] as GroupNode;
    const b = group.children[1] as EventNode;
    const edited = replaceNode(tree, b.key, { ...b, event: 'purchase', where: [{ property: 'sku', op: 'eq', value: 'X1' }] });
    expect(treeToCondition(edited)).toEqual({
      all: [{ list: 1 }, { any: [{ event: 'a' }, { event: 'purchase', where: [{ property: 'sku', op: 'eq', value: 'X1' }] }] }],
    });
    expect(treeToCondition(removeNode(edited, group.children[0].key))).toEqual({
      all: [{ list: 1 }, { any: [{ event: 'purchase', where: [{ property: 'sku', op: 'eq', value: 'X1' }] }] }],
    });
    expect(treeToCondition(tree)).toEqual({ all: [{ list: 1 }, { any: [{ event: 'a' }, { event: 'b' }] }] });
  });
});

describe('treeProblems', () => {
  it('is empty for a complete condition', () => {
    expect(treeProblems(conditionToTree({ all: [{ attribute: 'plan', op: 'exists' }, { event: 'x' }] }))).toEqual([]);
  });

  it('names what is missing, where', () => {
    const tree = emptyGroup();
    tree.children = [newRule('attribute'), newRule('event'), newRule('list'), emptyGroup('any')];
    expect(treeProblems(tree)).toEqual([
      'Root › rule 1: choose an attribute',
      'Root › rule 2: name the event',
      'Root › rule 3: pick a list',
      'Root › rule 4: add at least one rule',
    ]);
  });

  it('asks for a value unless the op takes none', () => {
    const tree = conditionToTree({ all: [{ attribute: 'plan', op: 'eq', value: '' }] });
    expect(treeProblems(tree)).toEqual(['Root › rule 1: enter a value']);
  });
});
