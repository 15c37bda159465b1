// The segment builder's form: nested and/or groups, each group or rule negatable, rules on
// attributes, events (property filters, how many times, within a window), lists and segments.
// It edits the tree of lib/conditions.ts; the parent turns it into JSON.
import { DurationInput, FiltersEditor } from '../../components/inputs';
import {
  COUNT_OPS,
  emptyGroup,
  type EventNode,
  type GroupNode,
  newRule,
  removeNode,
  replaceNode,
  type RuleKind,
  type TreeNode,
} from '../../lib/conditions';
import { OP_LABELS, OPS, parseValue, UNARY_OPS, valueText } from '../../lib/settings';

export interface Named {
  id: number;
  name: string;
}

interface Ctx {
  root: GroupNode;
  onRoot: (tree: GroupNode) => void;
  lists: Named[];
  segments: Named[];
  selfId?: number; // a segment cannot contain itself
}

export function ConditionBuilder({ tree, onChange, lists, segments, selfId }: { tree: GroupNode; onChange: (t: GroupNode) => void; lists: Named[]; segments: Named[]; selfId?: number }) {
  return <Group node={tree} depth={0} ctx={{ root: tree, onRoot: onChange, lists, segments, selfId }} />;
}

function NotToggle({ node, ctx, what }: { node: TreeNode; ctx: Ctx; what: string }) {
  return (
    <label className="check not-toggle" title={`Match customers for whom this ${what} is false`}>
      <input type="checkbox" checked={node.negate} onChange={(e) => ctx.onRoot(replaceNode(ctx.root, node.key, { ...node, negate: e.target.checked }))} />
      NOT
    </label>
  );
}

function Group({ node, depth, ctx }: { node: GroupNode; depth: number; ctx: Ctx }) {
  const set = (next: GroupNode) => ctx.onRoot(replaceNode(ctx.root, node.key, next));
  const add = (child: TreeNode) => set({ ...node, children: [...node.children, child] });
  return (
    <div className={node.negate ? 'cond-group negated' : 'cond-group'} role="group" aria-label={depth === 0 ? 'Condition' : `Group at depth ${depth}`}>
      <div className="cond-head">
        <NotToggle node={node} ctx={ctx} what="group" />
        <span>Match</span>
        <select aria-label="Match" value={node.op} onChange={(e) => set({ ...node, op: e.target.value as 'all' | 'any' })}>
          <option value="all">all (and)</option>
          <option value="any">any (or)</option>
        </select>
        <span>of these</span>
        <span className="grow" />
        {depth > 0 && (
          <button type="button" className="icon-btn" aria-label="Remove group" onClick={() => ctx.onRoot(removeNode(ctx.root, node.key))}>
            ×
          </button>
        )}
      </div>
      {node.children.map((child) =>
        child.kind === 'group' ? <Group key={child.key} node={child} depth={depth + 1} ctx={ctx} /> : <Rule key={child.key} node={child} ctx={ctx} />,
      )}
      <div className="row-gap">
        <AddRule onAdd={(kind) => add(newRule(kind))} />
        <button type="button" className="link-btn" onClick={() => add(emptyGroup(node.op === 'all' ? 'any' : 'all'))}>
          + Add group
        </button>
      </div>
    </div>
  );
}

function AddRule({ onAdd }: { onAdd: (k: RuleKind) => void }) {
  return (
    <select
      aria-label="Add rule"
      value=""
      onChange={(e) => {
        if (e.target.value) onAdd(e.target.value as RuleKind);
      }}
    >
      <option value="">+ Add rule…</option>
      <option value="attribute">Attribute</option>
      <option value="event">Did an event</option>
      <option value="list">In a list</option>
      <option value="segment">In a segment</option>
    </select>
  );
}

function ValueBox({ op, value, onChange }: { op: string; value: unknown; onChange: (v: unknown) => void }) {
  if (UNARY_OPS.has(op)) return null;
  if (op === 'within_last') {
    return <DurationInput label="value" value={value as never} onChange={onChange} />;
  }
  if (op === 'in' || op === 'not_in') {
    return (
      <input
        aria-label="value"
        placeholder="a, b, c"
        value={valueText(value)}
        onChange={(e) =>
          onChange(
            e.target.value
              .split(',')
              .map((s) => parseValue(s.trim()))
              .filter((s) => s !== ''),
          )
        }
      />
    );
  }
  return <input aria-label="value" placeholder={op === 'before' || op === 'after' ? 'YYYY-MM-DD' : 'value'} value={valueText(value)} onChange={(e) => onChange(parseValue(e.target.value))} />;
}

function Rule({ node, ctx }: { node: Exclude<TreeNode, GroupNode>; ctx: Ctx }) {
  const set = (next: TreeNode) => ctx.onRoot(replaceNode(ctx.root, node.key, next));
  return (
    <div className="cond-rule" data-rule={node.kind}>
      <NotToggle node={node} ctx={ctx} what="rule" />
      <div className="rule-body">
        {node.kind === 'attribute' && (
          <>
            <span className="muted small">Attribute</span>
            <input
              aria-label="attribute"
              list="wm-known-attributes"
              placeholder="e.g. plan, email, tags"
              value={node.attribute}
              onChange={(e) => set({ ...node, attribute: e.target.value })}
            />
            <select
              aria-label="operator"
              value={node.op}
              onChange={(e) => {
                const op = e.target.value;
                const value = UNARY_OPS.has(op) ? undefined : op === 'within_last' ? { value: 30, unit: 'days' } : op === 'in' || op === 'not_in' ? [] : node.op === 'within_last' ? '' : node.value;
                set({ ...node, op, value });
              }}
            >
              {OPS.map((op) => (
                <option key={op} value={op}>
                  {OP_LABELS[op]}
                </option>
              ))}
            </select>
            <ValueBox op={node.op} value={node.value} onChange={(value) => set({ ...node, value })} />
            <datalist id="wm-known-attributes">
              {['email', 'phone', 'timezone', 'tags', 'created_at'].map((a) => (
                <option key={a} value={a} />
              ))}
            </datalist>
          </>
        )}
        {node.kind === 'event' && <EventRule node={node} set={set} />}
        {(node.kind === 'list' || node.kind === 'segment') && (
          <>
            <span className="muted small">In {node.kind}</span>
            <select aria-label={node.kind} value={node.id ? String(node.id) : ''} onChange={(e) => set({ ...node, id: Number(e.target.value) })}>
              <option value="">Choose a {node.kind}…</option>
              {(node.kind === 'list' ? ctx.lists : ctx.segments.filter((s) => s.id !== ctx.selfId)).map((o) => (
                <option key={o.id} value={String(o.id)}>
                  {o.name}
                </option>
              ))}
              {node.id > 0 && !(node.kind === 'list' ? ctx.lists : ctx.segments).some((o) => o.id === node.id) && (
                <option value={String(node.id)}>#{node.id} (not found)</option>
              )}
            </select>
          </>
        )}
        {node.kind === 'raw' && (
          <>
            <span className="muted small">Advanced (kept as written)</span>
            <code className="clip">{JSON.stringify(node.json)}</code>
          </>
        )}
      </div>
      <button type="button" className="icon-btn" aria-label="Remove rule" onClick={() => ctx.onRoot(removeNode(ctx.root, node.key))}>
        ×
      </button>
    </div>
  );
}

function EventRule({ node, set }: { node: EventNode; set: (n: TreeNode) => void }) {
  const windowKind = node.within === undefined ? 'ever' : node.within === 'since_entry' ? 'since_entry' : 'within';
  return (
    <div className="stack" style={{ gap: 6, flex: 1 }}>
      <div className="rule-body">
        <span className="muted small">Did event</span>
        <input aria-label="event name" placeholder="e.g. purchase" value={node.event} onChange={(e) => set({ ...node, event: e.target.value })} />
        <select
          aria-label="times op"
          value={node.count?.op ?? 'gte'}
          onChange={(e) => set({ ...node, count: { op: e.target.value, value: node.count?.value ?? 1 } })}
        >
          {COUNT_OPS.map((op) => (
            <option key={op} value={op}>
              {OP_LABELS[op]}
            </option>
          ))}
        </select>
        <input
          aria-label="times"
          type="number"
          min={0}
          style={{ width: 70 }}
          value={node.count?.value ?? 1}
          onChange={(e) => {
            const value = e.target.value === '' ? NaN : Number(e.target.value);
            const op = node.count?.op ?? 'gte';
            // "at least once" is the default: written without a count, as the API reads it.
            if (op === 'gte' && value === 1) {
              const { count: _drop, ...rest } = node;
              void _drop;
              set(rest);
            } else set({ ...node, count: { op, value } });
          }}
        />
        <span className="muted small">time(s)</span>
        <select
          aria-label="window"
          value={windowKind}
          onChange={(e) => {
            const v = e.target.value;
            const { within: _drop, ...rest } = node;
            void _drop;
            set(v === 'ever' ? rest : v === 'since_entry' ? { ...rest, within: 'since_entry' } : { ...rest, within: { value: 30, unit: 'days' } });
          }}
        >
          <option value="ever">ever</option>
          <option value="within">in the last…</option>
          {windowKind === 'since_entry' && <option value="since_entry">since entering (journeys only)</option>}
        </select>
        {node.within && node.within !== 'since_entry' && <DurationInput label="window" value={node.within} onChange={(within) => set({ ...node, within })} />}
      </div>
      <FiltersEditor value={node.where} onChange={(where) => set({ ...node, where })} />
    </div>
  );
}
