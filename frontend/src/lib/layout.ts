// Auto Arrange: elkjs's layered algorithm, top to bottom, with each node's output ports kept in
// handle order so a branch's groups fan out left to right as they are listed.
import type { ELK as ElkEngine, ElkNode } from 'elkjs/lib/elk-api';

import type { FlowEdge, FlowNode } from './graph';
import { handlesFor, type NodeCatalog } from './node-types';

// In-thread ELK for tests and as a fallback; the canvas passes a Web Worker one (canvas/elk.ts)
// so a big journey never freezes the page while it lays out.
let inThread: ElkEngine | null = null;

export const NODE_WIDTH = 240;
export const NODE_HEIGHT = 96;

export async function autoLayout<N extends FlowNode>(nodes: readonly N[], edges: readonly FlowEdge[], catalog: NodeCatalog, elk?: ElkEngine): Promise<N[]> {
  const handles = new Map(nodes.map((n) => [n.id, handlesFor(catalog.get(n.type), n.data.config)]));
  const graph: ElkNode = {
    id: 'root',
    layoutOptions: {
      'elk.algorithm': 'layered',
      'elk.direction': 'DOWN',
      'elk.layered.spacing.nodeNodeBetweenLayers': '70',
      'elk.spacing.nodeNode': '50',
      'elk.layered.nodePlacement.strategy': 'BRANDES_KOEPF',
      'elk.layered.considerModelOrder.strategy': 'NODES_AND_EDGES',
    },
    children: nodes.map((n) => ({
      id: n.id,
      width: n.measured?.width ?? NODE_WIDTH,
      height: n.measured?.height ?? NODE_HEIGHT,
      layoutOptions: { 'elk.portConstraints': 'FIXED_ORDER' },
      ports: [
        { id: `${n.id}:in`, layoutOptions: { 'elk.port.side': 'NORTH' } },
        // ELK orders a side's ports clockwise, which on the south side is right to left.
        ...handles.get(n.id)!.map((h, i, all) => ({
          id: `${n.id}:out:${h}`,
          layoutOptions: { 'elk.port.side': 'SOUTH', 'elk.port.index': String(all.length - 1 - i) },
        })),
      ],
    })),
    edges: edges
      .filter((e) => handles.has(e.source) && handles.has(e.target))
      .map((e) => ({
        id: e.id,
        // An edge from a handle the config no longer has still lays out, from the node itself.
        sources: [handles.get(e.source)!.includes(e.sourceHandle ?? '') ? `${e.source}:out:${e.sourceHandle}` : e.source],
        targets: [`${e.target}:in`],
      })),
  };
  // Loaded on demand so the in-thread engine stays out of the app bundle.
  const engine = elk ?? (inThread ??= new (await import('elkjs/lib/elk.bundled.js')).default());
  const laid = await engine.layout(graph);
  const positions = new Map((laid.children ?? []).map((c) => [c.id, { x: c.x ?? 0, y: c.y ?? 0 }]));
  return nodes.map((n) => ({ ...n, position: positions.get(n.id) ?? n.position }));
}
