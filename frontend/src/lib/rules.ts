// Client-side validation hints: the problems the API's validate would report (journeys/graph.py
// and each node type's config rules), computed on every edit so they show before a round trip.
// They use the API's own {node_id, field, message} shape so server errors render the same way.
import type { Problem } from '../api/client';
import type { FlowEdge, FlowNode } from './graph';
import { fallthroughFor, handlesFor, hasInput, type NodeCatalog } from './node-types';
import { type JsonSchema, schemaProblems } from './schema';

export type { Problem };

export const blank = (v: unknown) => typeof v !== 'string' || v.trim() === '';
const DURATION_UNITS = ['seconds', 'minutes', 'hours', 'days', 'weeks'];

/** What is wrong with a DURATION value, if anything (hint rules of several node types). */
export function durationProblem(value: unknown): string | null {
  const d = value as { value?: unknown; unit?: unknown } | null;
  if (!d || typeof d !== 'object') return 'A duration is required.';
  if (typeof d.value !== 'number' || !(d.value > 0)) return 'Must be more than zero.';
  if (!DURATION_UNITS.includes(String(d.unit))) return 'Pick a unit.';
  return null;
}

export function isEmptyCondition(c: unknown): boolean {
  if (!c || typeof c !== 'object') return true;
  const group = c as { all?: unknown[]; any?: unknown[] };
  const list = group.all ?? group.any;
  return Array.isArray(list) && list.length === 0;
}

/** Problems with one node's config; `field` is `config.<dotted path>` like the API's. A type's
 * own hint rules (its file under canvas/nodes/) replace the ones its JSON Schema gives. */
export function configProblems(node: FlowNode, catalog: NodeCatalog): Problem[] {
  const info = catalog.get(node.type);
  if (!info) return [];
  const found = info.hints ? info.hints(node.data.config) : schemaProblems(info.config_schema as JsonSchema, node.data.config);
  return found.map((p) => ({ node_id: node.id, field: `config.${p.field}`, message: p.message }));
}

/** Every hint for the whole canvas: one start, reachability, and each node's config. */
export function graphProblems(nodes: readonly FlowNode[], edges: readonly FlowEdge[], catalog: NodeCatalog): Problem[] {
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
  for (const n of nodes) problems.push(...configProblems(n, catalog));
  return problems;
}

/** What validate warns about without blocking start (journeys/graph.py graph_warnings): a handle
 * left unconnected that its node type sends elsewhere, such as a send's Failed going on along Next. */
export function graphWarnings(nodes: readonly FlowNode[], edges: readonly FlowEdge[], catalog: NodeCatalog): Problem[] {
  const connected = new Set(edges.map((e) => `${e.source}\u0000${e.sourceHandle ?? ''}`));
  const warnings: Problem[] = [];
  for (const n of nodes) {
    for (const [handle, instead] of Object.entries(fallthroughFor(catalog.get(n.type), n.data.config))) {
      if (connected.has(`${n.id}\u0000${handle}`)) continue;
      const goes = connected.has(`${n.id}\u0000${instead}`) ? `goes on along '${instead}'` : 'ends the journey';
      const label = handle[0].toUpperCase() + handle.slice(1);
      warnings.push({
        node_id: n.id,
        field: `handles.${handle}`,
        message: `${label} is not connected: a customer whose send fails ${goes}, and the failure is counted on this node. Connect it to decide otherwise.`,
      });
    }
  }
  return warnings;
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
export function canConnect(nodes: readonly FlowNode[], edges: readonly FlowEdge[], c: ConnectionCheck, catalog: NodeCatalog): boolean {
  if (c.source === c.target) return false;
  const source = nodes.find((n) => n.id === c.source);
  const target = nodes.find((n) => n.id === c.target);
  if (!source || !target || !hasInput(catalog.get(target.type))) return false;
  if (!handlesFor(catalog.get(source.type), source.data.config).includes(c.sourceHandle ?? '')) return false;
  // A loop exists if the source is reachable from the target already.
  return !reachableFrom(c.target, edges).has(c.source);
}

/** Problems grouped by node id (null = the journey as a whole) for drawing. */
export function problemsByNode(problems: readonly Problem[]): Map<string | null, Problem[]> {
  const grouped = new Map<string | null, Problem[]>();
  for (const p of problems) grouped.set(p.node_id, [...(grouped.get(p.node_id) ?? []), p]);
  return grouped;
}
