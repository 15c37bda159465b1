// The journey graph as the API stores it (API.md "Journeys"), and its conversion to and from
// React Flow's nodes and edges. The API types graph and settings as free JSON (AnyJSONField), so
// the shape lives here, next to the code that reads it.
import type { Edge, Node } from '@xyflow/react';

import { handlesFor, type NodeCatalog } from './node-types';

/** A node type's name (GET /node-types lists them). */
export type NodeKind = string;

export type Config = Record<string, unknown>;

export interface ApiNode {
  id: string;
  type: string;
  name?: string;
  position?: { x: number; y: number };
  config: Config;
  /** the marketer's names for the node's outputs (canvas only; the run ignores them) */
  handle_labels?: Record<string, string>;
}

export interface ApiEdge {
  id?: string;
  source: string;
  source_handle: string;
  target: string;
}

export interface ApiGraph {
  nodes: ApiNode[];
  edges: ApiEdge[];
}

/** What every canvas node carries: the persisted name and config, nothing derived. */
export interface JourneyNodeData extends Record<string, unknown> {
  name: string;
  config: Config;
  handle_labels?: Record<string, string>;
}

export type FlowNode = Node<JourneyNodeData, NodeKind>;
export type FlowEdge = Edge;

function isLabels(value: unknown): value is Record<string, string> {
  return !!value && typeof value === 'object' && !Array.isArray(value) && Object.values(value).every((v) => typeof v === 'string');
}

export function edgeId(source: string, handle: string, target: string): string {
  return `${source}-${handle}-${target}`;
}

/** The API graph as React Flow nodes and edges. Node types the catalog does not know are dropped
 * (the API refuses them on write, so they can only come from a newer server). */
export function graphToFlow(graph: ApiGraph | null | undefined, catalog: NodeCatalog): { nodes: FlowNode[]; edges: FlowEdge[] } {
  const nodes: FlowNode[] = [];
  for (const [i, node] of (graph?.nodes ?? []).entries()) {
    if (!catalog.has(node.type)) continue;
    nodes.push({
      id: node.id,
      type: node.type,
      // Nodes saved without a position get a column so they are at least visible.
      position: node.position ?? { x: 0, y: i * 140 },
      data: {
        name: node.name ?? '',
        config: node.config ?? {},
        ...(isLabels(node.handle_labels) && Object.keys(node.handle_labels).length ? { handle_labels: node.handle_labels } : {}),
      },
    });
  }
  const known = new Set(nodes.map((n) => n.id));
  const edges: FlowEdge[] = (graph?.edges ?? [])
    .filter((e) => known.has(e.source) && known.has(e.target))
    .map((e) => ({
      id: e.id ?? edgeId(e.source, e.source_handle, e.target),
      source: e.source,
      sourceHandle: e.source_handle,
      target: e.target,
    }));
  return { nodes, edges };
}

/** React Flow state back to the API graph. Positions are rounded (sub-pixel drags are noise in
 * diffs) and edges from handles a config change removed are dropped, since the API would
 * reject them at validate time anyway. */
export function flowToGraph(nodes: readonly FlowNode[], edges: readonly FlowEdge[], catalog: NodeCatalog): ApiGraph {
  const handles = new Map(nodes.map((n) => [n.id, handlesFor(catalog.get(n.type), n.data.config)]));
  return {
    nodes: nodes.map((n) => ({
      id: n.id,
      type: n.type,
      name: n.data.name,
      position: { x: Math.round(n.position.x), y: Math.round(n.position.y) },
      config: n.data.config,
      ...(n.data.handle_labels ? { handle_labels: n.data.handle_labels } : {}),
    })),
    edges: edges
      .filter((e) => handles.get(e.source)?.includes(e.sourceHandle ?? '') && handles.has(e.target))
      .map((e) => ({
        id: e.id,
        source: e.source,
        source_handle: e.sourceHandle ?? '',
        target: e.target,
      })),
  };
}

/** A node id no other node uses: readable (`wait_3`) because ids show up in analytics and in
 * the publish impact, and stable once chosen (versions are compared by id). */
export function newNodeId(kind: NodeKind, taken: Iterable<string>): string {
  const used = new Set(taken);
  for (let n = 1; ; n++) {
    const id = `${kind}_${n}`;
    if (!used.has(id)) return id;
  }
}

/** An id for a new branch group or split path from its name, unique among `taken` and never
 * `else` (the branch's own handle). */
export function slugId(name: string, taken: string[], fallback: string): string {
  const base = name.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_|_$/g, '') || fallback;
  let id = base;
  for (let n = 2; taken.includes(id) || id === 'else'; n++) id = `${base}_${n}`;
  return id;
}

/** `patch` merged into `config`; a key the patch sets to undefined is removed, so clearing a field
 * (a reset picker, an unticked option) takes the key out of the saved config. */
export function mergeConfig(config: Config, patch: Config): Config {
  const next: Config = { ...config, ...patch };
  for (const [key, value] of Object.entries(patch)) if (value === undefined) delete next[key];
  return next;
}
