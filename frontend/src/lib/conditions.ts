// The segment builder's model of the condition language (API.md): a tree of and/or groups and
// rules, each of which may be negated, converted to and from the API's JSON. The round trip is
// exact: a condition read into the tree and written back is the same JSON, so opening and saving
// a segment never rewrites what someone typed through the API.
import { type Condition, type Duration, type Filter, UNARY_OPS } from './settings';

export type CountOp = 'eq' | 'neq' | 'gt' | 'gte' | 'lt' | 'lte';
export const COUNT_OPS: CountOp[] = ['gte', 'gt', 'eq', 'neq', 'lte', 'lt'];

interface Base {
  key: number; // stable React key while editing; never sent
  negate: boolean; // written as {"not": …}
}

export interface GroupNode extends Base {
  kind: 'group';
  op: 'all' | 'any';
  children: TreeNode[];
  /** The JSON was a bare rule that the editor shows inside a group; written back bare while it
   * is still the only child, so the round trip keeps the original shape. */
  bare?: boolean;
}

export interface AttributeNode extends Base {
  kind: 'attribute';
  attribute: string;
  op: string;
  value?: unknown;
}

export interface EventNode extends Base {
  kind: 'event';
  event: string;
  where: Filter[];
  count?: { op: string; value: number };
  within?: Duration | 'since_entry';
}

export interface RefNode extends Base {
  kind: 'segment' | 'list';
  id: number;
}

/** Anything the builder does not understand is kept verbatim and written back untouched. */
export interface RawNode extends Base {
  kind: 'raw';
  json: unknown;
}

export type TreeNode = GroupNode | AttributeNode | EventNode | RefNode | RawNode;
export type RuleKind = 'attribute' | 'event' | 'segment' | 'list';

let nextKey = 1;
const key = () => nextKey++;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function only(obj: Record<string, unknown>, allowed: string[]): boolean {
  return Object.keys(obj).every((k) => allowed.includes(k));
}

function nodeFrom(json: unknown): TreeNode {
  const negate = false;
  if (!isObject(json)) return { kind: 'raw', key: key(), negate, json };
  if (only(json, ['not']) && 'not' in json) {
    const inner = nodeFrom(json.not);
    if (!inner.negate) return { ...inner, negate: true };
    // {"not": {"not": C}}: a negated one-child group around the negated C.
    return { kind: 'group', key: key(), negate: true, op: 'all', children: [inner], bare: true };
  }
  for (const op of ['all', 'any'] as const) {
    if (only(json, [op]) && Array.isArray(json[op])) {
      return { kind: 'group', key: key(), negate, op, children: (json[op] as unknown[]).map((c) => nodeFrom(c)) };
    }
  }
  if (typeof json.attribute === 'string' && typeof json.op === 'string' && only(json, ['attribute', 'op', 'value'])) {
    const node: AttributeNode = { kind: 'attribute', key: key(), negate, attribute: json.attribute, op: json.op };
    if ('value' in json) node.value = json.value;
    return node;
  }
  if (typeof json.event === 'string' && only(json, ['event', 'where', 'count', 'within'])) {
    const node: EventNode = { kind: 'event', key: key(), negate, event: json.event, where: [] };
    if (Array.isArray(json.where)) node.where = json.where as Filter[];
    if (isObject(json.count)) node.count = json.count as EventNode['count'];
    if (json.within !== undefined) node.within = json.within as EventNode['within'];
    // An explicit empty "where" would be dropped on the way back: keep such a rule verbatim.
    if (Array.isArray(json.where) && json.where.length === 0) return { kind: 'raw', key: key(), negate, json };
    return node;
  }
  for (const kind of ['segment', 'list'] as const) {
    if (only(json, [kind]) && typeof json[kind] === 'number') return { kind, key: key(), negate, id: json[kind] as number };
  }
  return { kind: 'raw', key: key(), negate, json };
}

/** The editor's tree for a condition; the root is always a group. */
export function conditionToTree(condition: Condition | null | undefined): GroupNode {
  if (condition == null) return emptyGroup();
  const node = nodeFrom(condition);
  if (node.kind === 'group') return node;
  return { kind: 'group', key: key(), negate: false, op: 'all', children: [node], bare: true };
}

function ruleJson(node: Exclude<TreeNode, GroupNode>): unknown {
  switch (node.kind) {
    case 'attribute': {
      const out: Record<string, unknown> = { attribute: node.attribute, op: node.op };
      if (!UNARY_OPS.has(node.op) && node.value !== undefined) out.value = node.value;
      return out;
    }
    case 'event': {
      const out: Record<string, unknown> = { event: node.event };
      if (node.where.length) out.where = node.where;
      if (node.count) out.count = node.count;
      if (node.within !== undefined) out.within = node.within;
      return out;
    }
    case 'segment':
      return { segment: node.id };
    case 'list':
      return { list: node.id };
    case 'raw':
      return node.json;
  }
}

function nodeJson(node: TreeNode): unknown {
  let body: unknown;
  if (node.kind === 'group') {
    body =
      node.bare && node.children.length === 1 ? nodeJson(node.children[0]) : { [node.op]: node.children.map(nodeJson) };
  } else {
    body = ruleJson(node);
  }
  return node.negate ? { not: body } : body;
}

/** The API's JSON for an editor tree. */
export function treeToCondition(tree: GroupNode): Condition {
  return nodeJson(tree) as Condition;
}

export function emptyGroup(op: 'all' | 'any' = 'all'): GroupNode {
  return { kind: 'group', key: key(), negate: false, op, children: [] };
}

export function newRule(kind: RuleKind): TreeNode {
  switch (kind) {
    case 'attribute':
      return { kind, key: key(), negate: false, attribute: '', op: 'eq', value: '' };
    case 'event':
      return { kind, key: key(), negate: false, event: '', where: [] };
    case 'segment':
    case 'list':
      return { kind, key: key(), negate: false, id: 0 };
  }
}

/** What still has to be filled in before the condition means anything: one line per problem,
 * in reading order. The live count waits until this is empty. */
export function treeProblems(tree: GroupNode): string[] {
  const problems: string[] = [];
  const walk = (node: TreeNode, where: string) => {
    switch (node.kind) {
      case 'group':
        if (node.children.length === 0) problems.push(`${where}: add at least one rule`);
        node.children.forEach((c, i) => walk(c, `${where} › rule ${i + 1}`));
        break;
      case 'attribute':
        if (!node.attribute.trim()) problems.push(`${where}: choose an attribute`);
        else if (!UNARY_OPS.has(node.op) && (node.value === '' || node.value === undefined)) problems.push(`${where}: enter a value`);
        break;
      case 'event':
        if (!node.event.trim()) problems.push(`${where}: name the event`);
        node.where.forEach((f, i) => {
          if (!f.property.trim()) problems.push(`${where} › filter ${i + 1}: name the property`);
        });
        if (node.within !== undefined && node.within !== 'since_entry' && !(node.within.value > 0)) {
          problems.push(`${where}: the window must be a positive number`);
        }
        if (node.count && !Number.isFinite(node.count.value)) problems.push(`${where}: the count must be a number`);
        break;
      case 'segment':
      case 'list':
        if (!node.id) problems.push(`${where}: pick a ${node.kind}`);
        break;
      case 'raw':
        break;
    }
  };
  walk(tree, 'Root');
  return problems;
}

/** Replaces the node with `target` key anywhere in the tree (immutably). */
export function replaceNode(tree: GroupNode, target: number, next: TreeNode): GroupNode {
  const swap = (node: TreeNode): TreeNode => {
    if (node.key === target) return next;
    if (node.kind !== 'group') return node;
    return { ...node, children: node.children.map(swap) };
  };
  return swap(tree) as GroupNode;
}

/** Removes the node with `target` key (the root cannot be removed). */
export function removeNode(tree: GroupNode, target: number): GroupNode {
  const prune = (group: GroupNode): GroupNode => ({
    ...group,
    children: group.children.filter((c) => c.key !== target).map((c) => (c.kind === 'group' ? prune(c) : c)),
  });
  return prune(tree);
}
