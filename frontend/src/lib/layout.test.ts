import { describe, expect, it } from 'vitest';

import type { FlowEdge, FlowNode, NodeKind } from './graph';
import { autoLayout } from './layout';
import { catalogOf, type NodeTypeInfo } from './node-types';
import SERVER_TYPES from './node-types.fixture.json';

const catalog = catalogOf(SERVER_TYPES as unknown as NodeTypeInfo[]);

function node(id: string, type: NodeKind, config: Record<string, unknown> = {}): FlowNode {
  return { id, type, position: { x: 0, y: 0 }, data: { name: id, config } };
}

// Generous timeouts: elkjs runs in-thread here (the browser uses a worker) and its first call
// loads a 1.5 MB module; on a loaded 2-core CI box that alone can take seconds.
describe('autoLayout', { timeout: 60_000 }, () => {
  it('lays a journey out top to bottom with branch outputs side by side in handle order', async () => {
    const nodes = [
      node('start', 'start'),
      node('split', 'split', { paths: [{ id: 'a', percent: 50 }, { id: 'b', percent: 50 }] }),
      node('left', 'exit'),
      node('right', 'exit'),
    ];
    const edges: FlowEdge[] = [
      { id: '1', source: 'start', sourceHandle: 'next', target: 'split' },
      { id: '2', source: 'split', sourceHandle: 'b', target: 'right' },
      { id: '3', source: 'split', sourceHandle: 'a', target: 'left' },
    ];
    const laid = new Map((await autoLayout(nodes, edges, catalog)).map((n) => [n.id, n.position]));
    expect(laid.get('start')!.y).toBeLessThan(laid.get('split')!.y);
    expect(laid.get('split')!.y).toBeLessThan(laid.get('left')!.y);
    expect(laid.get('left')!.y).toBe(laid.get('right')!.y);
    expect(laid.get('left')!.x).toBeLessThan(laid.get('right')!.x);
  });

  it('keeps 150 nodes apart', async () => {
    const nodes: FlowNode[] = [node('start', 'start')];
    const edges: FlowEdge[] = [];
    for (let i = 1; i < 150; i++) {
      nodes.push(node(`w${i}`, 'wait', { mode: 'duration' }));
      const parent = i === 1 ? 'start' : `w${Math.floor(i / 2)}`;
      edges.push({ id: `e${i}`, source: parent, sourceHandle: 'next', target: `w${i}` });
    }
    const laid = await autoLayout(nodes, edges, catalog);
    const spots = new Set(laid.map((n) => `${Math.round(n.position.x)},${Math.round(n.position.y)}`));
    expect(spots.size).toBe(150);
  });
});
