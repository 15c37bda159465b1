// Client-side validation hints: the problems the API's validate would report (journeys/graph.py
// and each node type's config rules), computed on every edit so they show before a round trip.
// They use the API's own {node_id, field, message} shape so server errors render the same way.
import type { Problem } from '../api/client';
import { CONTENT_FIELDS, isChannel } from './channels';
import type { FlowEdge, FlowNode } from './graph';
import { handlesFor } from './handles';

export type { Problem };

const blank = (v: unknown) => typeof v !== 'string' || v.trim() === '';
const DURATION_UNITS = ['seconds', 'minutes', 'hours', 'days', 'weeks'];
const HHMM = /^([01]\d|2[0-3]):[0-5]\d$/;

function durationProblem(value: unknown): string | null {
  const d = value as { value?: unknown; unit?: unknown } | null;
  if (!d || typeof d !== 'object') return 'A duration is required.';
  if (typeof d.value !== 'number' || !(d.value > 0)) return 'Must be more than zero.';
  if (!DURATION_UNITS.includes(String(d.unit))) return 'Pick a unit.';
  return null;
}

function isEmptyCondition(c: unknown): boolean {
  if (!c || typeof c !== 'object') return true;
  const group = c as { all?: unknown[]; any?: unknown[] };
  const list = group.all ?? group.any;
  return Array.isArray(list) && list.length === 0;
}

/** Problems with one node's config; `field` is `config.<dotted path>` like the API's. */
export function configProblems(node: FlowNode): Problem[] {
  const c = node.data.config;
  const out: Problem[] = [];
  const add = (field: string, message: string) => out.push({ node_id: node.id, field: `config.${field}`, message });
  switch (node.type) {
    case 'message': {
      if (!isChannel(c.channel)) {
        add('channel', 'Pick a channel.');
        break;
      }
      const content = (c.content ?? {}) as Record<string, unknown>;
      for (const f of CONTENT_FIELDS[c.channel]) {
        if (f.required && blank(content[f.key])) add(`content.${f.key}`, `${f.label} is required.`);
      }
      if (c.channel === 'whatsapp' && blank(content.template) && blank(content.text)) {
        add('content.text', 'Give a template name or a text.');
      }
      if (c.channel === 'push' && (!Array.isArray(content.platforms) || content.platforms.length === 0)) {
        add('content.platforms', 'Pick at least one platform.');
      }
      if (c.await != null) {
        const problem = durationProblem((c.await as { within?: unknown }).within);
        if (problem) add('await.within', problem);
      }
      break;
    }
    case 'webhook':
      if (blank(c.url)) add('url', 'A URL is required.');
      else if (!String(c.url).includes('{{') && !/^https?:\/\/[^/]+/.test(String(c.url))) add('url', 'Must be an http(s) URL.');
      break;
    case 'wait':
      if (c.mode === 'duration') {
        const problem = durationProblem(c.duration);
        if (problem) add('duration', problem);
      } else if (c.mode === 'until') {
        if (!HHMM.test(String(c.time ?? ''))) add('time', 'A time of day as HH:MM.');
      } else if (c.mode === 'event') {
        if (blank(c.event)) add('event', 'Name the event to wait for.');
        const problem = durationProblem(c.timeout);
        if (problem) add('timeout', problem);
      } else add('mode', 'Pick how to wait.');
      break;
    case 'branch': {
      const groups = Array.isArray(c.groups) ? (c.groups as { condition?: unknown; name?: unknown }[]) : [];
      if (groups.length === 0) add('groups', 'At least one group is required.');
      groups.forEach((g, i) => {
        if (isEmptyCondition(g.condition)) add(`groups.${i}.condition`, 'Add at least one rule to this group.');
      });
      break;
    }
    case 'event_branch':
      if (blank(c.event)) add('event', 'Name the event.');
      if (c.within !== 'since_entry') {
        const problem = durationProblem(c.within);
        if (problem) add('within', problem);
      }
      break;
    case 'split': {
      const paths = Array.isArray(c.paths) ? (c.paths as { percent?: unknown }[]) : [];
      if (paths.length < 2) add('paths', 'At least two paths are required.');
      const total = paths.reduce((sum, p) => sum + (typeof p.percent === 'number' ? p.percent : 0), 0);
      if (paths.length >= 2 && Math.abs(total - 100) > 1e-9) add('paths', `Percents must sum to 100 (they sum to ${total}).`);
      break;
    }
    case 'update_profile': {
      const any = ['set', 'unset', 'add_tags', 'remove_tags'].some((k) => {
        const v = c[k];
        return Array.isArray(v) ? v.length > 0 : v && typeof v === 'object' && Object.keys(v).length > 0;
      });
      if (!any) add('set', 'Set, unset, add or remove at least one thing.');
      break;
    }
    default:
      break;
  }
  return out;
}

/** Every hint for the whole canvas: one start, reachability, and each node's config. */
export function graphProblems(nodes: readonly FlowNode[], edges: readonly FlowEdge[]): Problem[] {
  const problems: Problem[] = [];
  const starts = nodes.filter((n) => n.type === 'start');
  if (starts.length === 0) problems.push({ node_id: null, field: 'graph.nodes', message: 'Add a Trigger: a journey needs exactly one start.' });
  for (const extra of starts.slice(1)) {
    problems.push({ node_id: extra.id, field: 'type', message: 'A journey has exactly one start node; this is another.' });
  }
  if (starts.length >= 1) {
    const reachable = reachableFrom(starts[0].id, edges);
    for (const n of nodes) {
      if (!reachable.has(n.id) && n.type !== 'start') {
        problems.push({ node_id: n.id, field: 'node', message: 'Not reachable from the start node: connect its input.' });
      }
    }
  }
  for (const n of nodes) problems.push(...configProblems(n));
  return problems;
}

export function reachableFrom(startId: string, edges: readonly FlowEdge[]): Set<string> {
  const out = new Map<string, string[]>();
  for (const e of edges) out.set(e.source, [...(out.get(e.source) ?? []), e.target]);
  const seen = new Set([startId]);
  const frontier = [startId];
  while (frontier.length) {
    for (const next of out.get(frontier.pop()!) ?? []) {
      if (!seen.has(next)) {
        seen.add(next);
        frontier.push(next);
      }
    }
  }
  return seen;
}

export interface ConnectionCheck {
  source: string;
  sourceHandle: string | null;
  target: string;
}

/** Whether an edge may be drawn: not into a start, not onto itself, from a real handle, and
 * not closing a loop (journeys are acyclic; the API rejects loops). */
export function canConnect(nodes: readonly FlowNode[], edges: readonly FlowEdge[], c: ConnectionCheck): boolean {
  if (c.source === c.target) return false;
  const source = nodes.find((n) => n.id === c.source);
  const target = nodes.find((n) => n.id === c.target);
  if (!source || !target || target.type === 'start') return false;
  if (!handlesFor(source.type, source.data.config).includes(c.sourceHandle ?? '')) return false;
  // A loop exists if the source is reachable from the target already.
  return !reachableFrom(c.target, edges).has(c.source);
}

/** Problems grouped by node id (null = the journey as a whole) for drawing. */
export function problemsByNode(problems: readonly Problem[]): Map<string | null, Problem[]> {
  const grouped = new Map<string | null, Problem[]>();
  for (const p of problems) grouped.set(p.node_id, [...(grouped.get(p.node_id) ?? []), p]);
  return grouped;
}
