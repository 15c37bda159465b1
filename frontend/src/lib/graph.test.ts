import { describe, expect, it } from 'vitest';

import { type ApiGraph, flowToGraph, graphToFlow, newNodeId } from './graph';
import { canRenameHandle, handleLabel, handlesFor, renameHandle } from './handles';

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
    const { nodes, edges } = graphToFlow(graph);
    expect(nodes.map((n) => [n.id, n.type])).toEqual([
      ['start', 'start'],
      ['wait', 'wait'],
      ['mail', 'message'],
      ['done', 'exit'],
    ]);
    expect(edges[1]).toMatchObject({ id: 'wait-timeout-mail', source: 'wait', sourceHandle: 'timeout', target: 'mail' });
    const back = flowToGraph(nodes, edges);
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
    });
    expect(nodes.find((n) => n.id === 'done')!.position).toEqual({ x: 0, y: 420 });
    expect(nodes.some((n) => n.id === 'x')).toBe(false);
    expect(edges).toHaveLength(3);
  });

  it('drops an edge whose handle a config change removed', () => {
    const { nodes, edges } = graphToFlow(graph);
    const wait = nodes.find((n) => n.id === 'wait')!;
    wait.data = { ...wait.data, config: { mode: 'duration', duration: { value: 1, unit: 'days' } } };
    expect(flowToGraph(nodes, edges).edges.map((e) => e.source_handle)).toEqual(['next', 'next']);
  });

  it('picks readable ids nobody uses', () => {
    expect(newNodeId('wait', ['wait_1', 'wait_2', 'start'])).toBe('wait_3');
    expect(newNodeId('exit', [])).toBe('exit_1');
  });
});

describe('handles mirror the backend node types', () => {
  it('follows config: await, wait mode, branch groups, split paths', () => {
    expect(handlesFor('message', { channel: 'sms' })).toEqual(['next', 'failed']);
    expect(handlesFor('message', { channel: 'sms', await: { status: 'clicked' } })).toEqual(['yes', 'no', 'failed']);
    expect(handlesFor('wait', { mode: 'duration' })).toEqual(['next']);
    expect(handlesFor('wait', { mode: 'event' })).toEqual(['event', 'timeout']);
    expect(handlesFor('branch', { groups: [{ id: 'vip' }, { id: 'vip' }, { id: 'else' }, { id: '' }, { id: 'new' }] })).toEqual(['vip', 'new', 'else']);
    expect(handlesFor('split', { paths: [{ id: 'a' }, { id: 'b' }] })).toEqual(['a', 'b']);
    expect(handlesFor('exit', {})).toEqual([]);
  });

  it('labels handles with the group names marketers gave them', () => {
    const config = { groups: [{ id: 'g1', name: 'VIP customers' }, { id: 'g2', name: '' }] };
    expect(handleLabel('branch', config, 'g1')).toBe('VIP customers');
    expect(handleLabel('branch', config, 'g2')).toBe('g2');
    expect(handleLabel('branch', config, 'else')).toBe('Everyone else');
    expect(handleLabel('message', { await: { status: 'opened' } }, 'no')).toBe('Not opened');
  });

  it('renames a group or path in its config and any other fork output in handle_labels', () => {
    const branch = { name: 'Has a phone?', config: { groups: [{ id: 'phone', name: 'Has a phone', condition: {} }] } };
    const renamed = renameHandle('branch', branch, 'phone', 'Reachable by SMS');
    expect(renamed.config.groups).toEqual([{ id: 'phone', name: 'Reachable by SMS', condition: {} }]);
    expect(handleLabel('branch', renamed.config, 'phone')).toBe('Reachable by SMS');
    expect(renameHandle('branch', branch, 'phone', '   ')).toBe(branch); // a group keeps a name
    const everyoneElse = renameHandle('branch', branch, 'else', 'No phone');
    expect(everyoneElse.handle_labels).toEqual({ else: 'No phone' });
    expect(handleLabel('branch', everyoneElse.config, 'else', everyoneElse.handle_labels)).toBe('No phone');

    const wait = { name: 'Purchased?', config: { mode: 'event', event: 'purchase', timeout: { value: 1, unit: 'hours' } } };
    const named = renameHandle('wait', renameHandle('wait', wait, 'event', 'Purchased'), 'timeout', 'No purchase');
    expect(named.handle_labels).toEqual({ event: 'Purchased', timeout: 'No purchase' });
    expect(named.config).toBe(wait.config); // the run is unchanged
    // A blank or default label removes the override; none left removes the key.
    const reset = renameHandle('wait', renameHandle('wait', named, 'event', ''), 'timeout', 'Timed out');
    expect(reset).toEqual(wait);
  });

  it('offers renaming on forks only, never on next or failed', () => {
    expect(canRenameHandle('wait', { mode: 'event' }, 'timeout')).toBe(true);
    expect(canRenameHandle('wait', { mode: 'duration' }, 'next')).toBe(false);
    expect(canRenameHandle('event_branch', {}, 'yes')).toBe(true);
    expect(canRenameHandle('message', { channel: 'email', await: { status: 'opened' } }, 'no')).toBe(true);
    expect(canRenameHandle('message', { channel: 'email' }, 'failed')).toBe(false);
    expect(canRenameHandle('split', { paths: [{ id: 'a' }, { id: 'b' }] }, 'c')).toBe(false);
  });

  it('keeps output names through the API graph', () => {
    const api: ApiGraph = {
      nodes: [{ id: 'w', type: 'wait', config: { mode: 'event', event: 'purchase', timeout: { value: 1, unit: 'hours' } }, handle_labels: { event: 'Purchased' } }],
      edges: [],
    };
    const { nodes, edges } = graphToFlow(api);
    expect(nodes[0].data.handle_labels).toEqual({ event: 'Purchased' });
    expect(flowToGraph(nodes, edges).nodes[0].handle_labels).toEqual({ event: 'Purchased' });
    const bad = graphToFlow({ nodes: [{ id: 'w', type: 'exit', config: {}, handle_labels: { x: 1 } as never }], edges: [] });
    expect(bad.nodes[0].data).not.toHaveProperty('handle_labels');
  });
});
