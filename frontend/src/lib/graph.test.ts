import { describe, expect, it } from 'vitest';

import { type ApiGraph, flowToGraph, graphToFlow, mergeConfig, newNodeId } from './graph';
import { catalogOf, type NodeTypeInfo } from './node-types';
import SERVER_TYPES from './node-types.fixture.json';

const catalog = catalogOf(SERVER_TYPES as unknown as NodeTypeInfo[]);

const graph: ApiGraph = {
  nodes: [
    { id: 'start', type: 'start', name: 'Signed up', position: { x: 0, y: 0 }, config: {} },
    { id: 'wait', type: 'wait', name: 'Wait for order', position: { x: 10.4, y: 140.6 }, config: { mode: 'event', event: 'order', timeout: { value: 1, unit: 'days' } } },
    { id: 'mail', type: 'message', name: 'Reminder', position: { x: 0, y: 280 }, config: { channel: 'email', content: { subject: 'Hi' } } },
    { id: 'done', type: 'exit', name: 'Done', config: {} },
  ],
  edges: [
    { id: 'e1', source: 'start', source_handle: 'next', target: 'wait' },
    { source: 'wait', source_handle: 'timeout', target: 'mail' },
    { source: 'mail', source_handle: 'next', target: 'done' },
  ],
};

describe('graph serialization', () => {
  it('round-trips the API graph through React Flow state', () => {
    const { nodes, edges } = graphToFlow(graph, catalog);
    expect(nodes.map((n) => [n.id, n.type])).toEqual([
      ['start', 'start'],
      ['wait', 'wait'],
      ['mail', 'message'],
      ['done', 'exit'],
    ]);
    expect(edges[1]).toMatchObject({ id: 'wait-timeout-mail', source: 'wait', sourceHandle: 'timeout', target: 'mail' });
    const back = flowToGraph(nodes, edges, catalog);
    expect(back.nodes[1]).toEqual({ ...graph.nodes[1], position: { x: 10, y: 141 } });
    expect(back.edges).toEqual([
      { id: 'e1', source: 'start', source_handle: 'next', target: 'wait' },
      { id: 'wait-timeout-mail', source: 'wait', source_handle: 'timeout', target: 'mail' },
      { id: 'mail-next-done', source: 'mail', source_handle: 'next', target: 'done' },
    ]);
  });

  it('gives a node saved without a position a place and drops unknown types and their edges', () => {
    const { nodes, edges } = graphToFlow({
      nodes: [...graph.nodes, { id: 'x', type: 'teleport', config: {} }],
      edges: [...graph.edges, { source: 'mail', source_handle: 'failed', target: 'x' }],
    }, catalog);
    expect(nodes.find((n) => n.id === 'done')!.position).toEqual({ x: 0, y: 420 });
    expect(nodes.some((n) => n.id === 'x')).toBe(false);
    expect(edges).toHaveLength(3);
  });

  it('drops an edge whose handle a config change removed', () => {
    const { nodes, edges } = graphToFlow(graph, catalog);
    const wait = nodes.find((n) => n.id === 'wait')!;
    wait.data = { ...wait.data, config: { mode: 'duration', duration: { value: 1, unit: 'days' } } };
    expect(flowToGraph(nodes, edges, catalog).edges.map((e) => e.source_handle)).toEqual(['next', 'next']);
  });

  it('picks readable ids nobody uses', () => {
    expect(newNodeId('wait', ['wait_1', 'wait_2', 'start'])).toBe('wait_3');
    expect(newNodeId('exit', [])).toBe('exit_1');
  });
});

describe('mergeConfig', () => {
  it('sets what the patch sets and removes what it sets to undefined', () => {
    const config = { channel: 'sms', channel_id: 4, await: { status: 'delivered' }, content: { text: 'Hi' } };
    expect(mergeConfig(config, { channel_id: undefined, await: undefined, content: { text: 'Yo' } })).toEqual({ channel: 'sms', content: { text: 'Yo' } });
    expect('channel_id' in mergeConfig(config, { channel_id: undefined })).toBe(false);
  });
});
