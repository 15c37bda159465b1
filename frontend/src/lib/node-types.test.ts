import { describe, expect, it } from 'vitest';

import { type ApiGraph, flowToGraph, graphToFlow } from './graph';
import {
  canRenameHandle,
  catalogOf,
  defaultConfig,
  handleLabel,
  handlesFor,
  isListHandle,
  type NodeTypeInfo,
  paletteGroups,
  paletteItem,
  renameHandle,
} from './node-types';
import SERVER_TYPES from './node-types.fixture.json';

// The server's own GET /node-types answer (npm run gen:node-types; a server test keeps it current).
const catalog = catalogOf(SERVER_TYPES as unknown as NodeTypeInfo[]);
const T = (type: string) => catalog.get(type)!;

describe('handles from the node types the server describes', () => {
  it('follows config: await, wait mode, branch groups, split paths', () => {
    expect(handlesFor(T('message'), { channel: 'sms' })).toEqual(['next', 'failed']);
    expect(handlesFor(T('message'), { channel: 'sms', await: { status: 'clicked' } })).toEqual(['yes', 'no', 'failed']);
    expect(handlesFor(T('wait'), { mode: 'duration' })).toEqual(['next']);
    expect(handlesFor(T('wait'), { mode: 'event' })).toEqual(['event', 'timeout']);
    expect(handlesFor(T('branch'), { groups: [{ id: 'vip' }, { id: 'vip' }, { id: 'else' }, { id: '' }, { id: 'new' }] })).toEqual(['vip', 'new', 'else']);
    expect(handlesFor(T('split'), { paths: [{ id: 'a' }, { id: 'b' }] })).toEqual(['a', 'b']);
    expect(handlesFor(T('exit'), {})).toEqual([]);
  });

  it('labels handles with the group names marketers gave them', () => {
    const config = { groups: [{ id: 'g1', name: 'VIP customers' }, { id: 'g2', name: '' }] };
    expect(handleLabel(T('branch'), config, 'g1')).toBe('VIP customers');
    expect(handleLabel(T('branch'), config, 'g2')).toBe('g2');
    expect(handleLabel(T('branch'), config, 'else')).toBe('Everyone else');
    expect(handleLabel(T('message'), { await: { status: 'opened' } }, 'no')).toBe('Not opened');
  });

  it('renames a group or path in its config and any other fork output in handle_labels', () => {
    const branch = { name: 'Has a phone?', config: { groups: [{ id: 'phone', name: 'Has a phone', condition: {} }] } };
    const renamed = renameHandle(T('branch'), branch, 'phone', 'Reachable by SMS');
    expect(renamed.config.groups).toEqual([{ id: 'phone', name: 'Reachable by SMS', condition: {} }]);
    expect(handleLabel(T('branch'), renamed.config, 'phone')).toBe('Reachable by SMS');
    expect(renameHandle(T('branch'), branch, 'phone', '   ')).toBe(branch); // a group keeps a name
    const everyoneElse = renameHandle(T('branch'), branch, 'else', 'No phone');
    expect(everyoneElse.handle_labels).toEqual({ else: 'No phone' });
    expect(handleLabel(T('branch'), everyoneElse.config, 'else', everyoneElse.handle_labels)).toBe('No phone');

    const wait = { name: 'Purchased?', config: { mode: 'event', event: 'purchase', timeout: { value: 1, unit: 'hours' } } };
    const named = renameHandle(T('wait'), renameHandle(T('wait'), wait, 'event', 'Purchased'), 'timeout', 'No purchase');
    expect(named.handle_labels).toEqual({ event: 'Purchased', timeout: 'No purchase' });
    expect(named.config).toBe(wait.config); // the run is unchanged
    // A blank or default label removes the override; none left removes the key.
    const reset = renameHandle(T('wait'), renameHandle(T('wait'), named, 'event', ''), 'timeout', 'Timed out');
    expect(reset).toEqual(wait);
  });

  it('offers renaming on forks only, never on next or failed', () => {
    expect(canRenameHandle(T('wait'), { mode: 'event' }, 'timeout')).toBe(true);
    expect(canRenameHandle(T('wait'), { mode: 'duration' }, 'next')).toBe(false);
    expect(canRenameHandle(T('event_branch'), {}, 'yes')).toBe(true);
    expect(canRenameHandle(T('message'), { channel: 'email', await: { status: 'opened' } }, 'no')).toBe(true);
    expect(canRenameHandle(T('message'), { channel: 'email' }, 'failed')).toBe(false);
    expect(canRenameHandle(T('split'), { paths: [{ id: 'a' }, { id: 'b' }] }, 'c')).toBe(false);
  });

  it('keeps output names through the API graph', () => {
    const api: ApiGraph = {
      nodes: [{ id: 'w', type: 'wait', config: { mode: 'event', event: 'purchase', timeout: { value: 1, unit: 'hours' } }, handle_labels: { event: 'Purchased' } }],
      edges: [],
    };
    const { nodes, edges } = graphToFlow(api, catalog);
    expect(nodes[0].data.handle_labels).toEqual({ event: 'Purchased' });
    expect(flowToGraph(nodes, edges, catalog).nodes[0].handle_labels).toEqual({ event: 'Purchased' });
    const bad = graphToFlow({ nodes: [{ id: 'w', type: 'exit', config: {}, handle_labels: { x: 1 } as never }], edges: [] }, catalog);
    expect(bad.nodes[0].data).not.toHaveProperty('handle_labels');
  });
});

describe('a node type the canvas has never heard of', () => {
  // What the server could add tomorrow: nothing in the canvas names it.
  const teleport: NodeTypeInfo = {
    type: 'teleport',
    label: 'Teleport',
    category: 'action',
    icon: 'TP',
    description: 'Move the customer elsewhere',
    config_schema: { type: 'object', properties: { to: { type: 'string' } } },
    outputs: [
      { when: { field: 'mode', equals: 'fork' }, handles: [{ each: 'targets', skip: ['lost'] }, { id: 'lost', label: 'Lost in {to}' }] },
      { handles: [{ id: 'next', label: 'Next' }, { id: 'failed', label: 'Failed' }] },
    ],
    handles: ['next', 'failed'],
    has_input: true,
    default_config: { to: 'mars', targets: [] },
    presets: [{ key: 'teleport', label: 'Teleport', hint: 'Move them', config: { to: 'mars', targets: [] } }],
    sends_messages: false,
  };
  const mine = catalogOf([...catalog.values(), teleport]);

  it('gets handles and labels from its outputs description', () => {
    expect(handlesFor(teleport, { to: 'x' })).toEqual(['next', 'failed']);
    const fork = { mode: 'fork', to: 'venus', targets: [{ id: 'a', name: 'Alpha' }, { id: 'lost' }, { id: 'b' }, { id: 'a' }] };
    expect(handlesFor(teleport, fork)).toEqual(['a', 'b', 'lost']);
    expect(handleLabel(teleport, fork, 'a')).toBe('Alpha');
    expect(handleLabel(teleport, fork, 'lost')).toBe('Lost in venus');
    expect(isListHandle(teleport, fork, 'a')).toBe(true);
    expect(isListHandle(teleport, fork, 'lost')).toBe(false);
    expect(canRenameHandle(teleport, fork, 'lost')).toBe(true);
    expect(canRenameHandle(teleport, { to: 'x' }, 'failed')).toBe(false);
  });

  it('is on the palette with its default config, a fresh copy each time', () => {
    expect(paletteGroups(mine).find((g) => g.title === 'Actions')!.items.map((i) => i.key)).toContain('teleport');
    const first = defaultConfig(teleport);
    expect(first).toEqual({ to: 'mars', targets: [] });
    (first.targets as unknown[]).push('x');
    expect(defaultConfig(teleport)).toEqual({ to: 'mars', targets: [] });
    expect(paletteItem(mine, 'teleport')).toMatchObject({ kind: 'teleport', config: { to: 'mars', targets: [] } });
  });

  it('survives the trip through the API graph (an unknown one is dropped)', () => {
    const api: ApiGraph = { nodes: [{ id: 't', type: 'teleport', config: { to: 'x' } }], edges: [] };
    expect(graphToFlow(api, mine).nodes.map((n) => n.type)).toEqual(['teleport']);
    expect(graphToFlow(api, catalog).nodes).toEqual([]);
  });
});

describe('the palette from the server', () => {
  it('groups every preset by category, trigger first and exit last', () => {
    const groups = paletteGroups(catalog);
    expect(groups.map((g) => g.title)).toEqual(['Trigger', 'Channels', 'Flow', 'Actions', 'Exit']);
    expect(groups[0].items).toEqual([expect.objectContaining({ key: 'start', label: 'Trigger', kind: 'start' })]);
    expect(groups[1].items.map((i) => i.key)).toEqual(expect.arrayContaining(['email', 'sms', 'push', 'webhook']));
    expect(groups[2].items.map((i) => i.key)).toEqual(['branch', 'event_branch', 'split', 'wait', 'wait_event']);
    expect(paletteItem(catalog, 'wait_event')).toMatchObject({ kind: 'wait', config: { mode: 'event' } });
    expect(paletteItem(catalog, 'journey')).toMatchObject({ kind: 'journey', label: 'Enroll in journey' });
  });
});
