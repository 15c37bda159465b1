import { describe, expect, it } from 'vitest';

import { canvasCatalog } from '../canvas/nodes';
import type { FlowEdge, FlowNode, NodeKind } from './graph';
import type { NodeTypeInfo } from './node-types';
import SERVER_TYPES from './node-types.fixture.json';
import { canConnect, configProblems, graphProblems } from './rules';

// The server's own node types (npm run gen:node-types) with the canvas's hint rules.
const catalog = canvasCatalog(SERVER_TYPES as unknown as NodeTypeInfo[]);

function node(id: string, type: NodeKind, config: Record<string, unknown> = {}): FlowNode {
  return { id, type, position: { x: 0, y: 0 }, data: { name: id, config } };
}
function edge(source: string, handle: string, target: string): FlowEdge {
  return { id: `${source}-${handle}-${target}`, source, sourceHandle: handle, target };
}

const good = [
  node('start', 'start'),
  node('wait', 'wait', { mode: 'duration', duration: { value: 2, unit: 'hours' } }),
  node('mail', 'message', { channel: 'email', content: { subject: 'Hi {{ customer.first_name }}' } }),
  node('done', 'exit'),
];
const goodEdges = [edge('start', 'next', 'wait'), edge('wait', 'next', 'mail'), edge('mail', 'next', 'done')];

describe('validation hints', () => {
  it('finds nothing wrong with a complete journey', () => {
    expect(graphProblems(good, goodEdges, catalog)).toEqual([]);
  });

  it('asks for a trigger, and for one only', () => {
    expect(graphProblems([node('done', 'exit')], [], catalog)).toContainEqual(expect.objectContaining({ node_id: null, field: 'graph.nodes' }));
    const twice = graphProblems([...good, node('start_2', 'start')], goodEdges, catalog);
    expect(twice).toContainEqual(expect.objectContaining({ node_id: 'start_2', field: 'type' }));
  });

  it('marks nodes not reachable from the start', () => {
    const problems = graphProblems(good, goodEdges.slice(0, 2), catalog);
    expect(problems).toEqual([expect.objectContaining({ node_id: 'done', field: 'node' })]);
  });

  it('names the config field that is missing, in the API field format', () => {
    expect(configProblems(node('m', 'message', { channel: 'sms', content: { text: ' ' } }), catalog)).toEqual([
      { node_id: 'm', field: 'config.content.text', message: 'Text is required.' },
    ]);
    expect(configProblems(node('w', 'wait', { mode: 'event', event: '', timeout: { value: 0, unit: 'days' } }), catalog).map((p) => p.field)).toEqual([
      'config.event',
      'config.timeout',
    ]);
    expect(configProblems(node('h', 'webhook', { url: 'ftp://x' }), catalog)[0].field).toBe('config.url');
    expect(configProblems(node('h', 'webhook', { url: 'https://{{ customer.host }}/x' }), catalog)).toEqual([]);
    expect(configProblems(node('s', 'split', { paths: [{ id: 'a', percent: 50 }, { id: 'b', percent: 40 }] }), catalog)[0].message).toMatch(/sum to 100 \(they sum to 90\)/);
    expect(configProblems(node('b', 'branch', { groups: [{ id: 'g', condition: { all: [] } }] }), catalog)[0].field).toBe('config.groups.0.condition');
    expect(configProblems(node('u', 'update_profile', { set: {}, add_tags: [] }), catalog)[0].field).toBe('config.set');
    expect(configProblems(node('u', 'update_profile', { add_tags: ['vip'] }), catalog)).toEqual([]);
  });
});

describe('message hints', () => {
  const variant = (id: string, percent: number, content: Record<string, unknown>) => ({ id, name: id.toUpperCase(), percent, content });

  it('accepts variants instead of content, each checked as a whole content', () => {
    expect(configProblems(node('m', 'message', { channel: 'sms', variants: [variant('a', 70, { text: 'Hi' }), variant('b', 30, { text: 'Hey' })] }), catalog)).toEqual([]);
    expect(configProblems(node('m', 'message', { channel: 'sms', variants: [variant('a', 70, { text: 'Hi' }), variant('b', 30, { text: '' })] }), catalog)).toEqual([
      { node_id: 'm', field: 'config.variants.1.content.text', message: 'Text is required.' },
    ]);
  });

  it('asks variant percentages to add up to 100', () => {
    const problems = configProblems(node('m', 'message', { channel: 'sms', variants: [variant('a', 70, { text: 'Hi' }), variant('b', 20, { text: 'Hey' })] }), catalog);
    expect(problems).toEqual([{ node_id: 'm', field: 'config.variants', message: 'Variant percentages add up to 90%, not 100%.' }]);
  });

  it('checks a language version as a whole content of its own text', () => {
    const content = { subject: 'Hi', html: '<p>Hi</p>', locales: { ko: { subject: '안녕하세요', html: '<p>안녕</p>' } } };
    expect(configProblems(node('m', 'message', { channel: 'email', content }), catalog)).toEqual([]);
    const half = { subject: 'Hi', html: '<p>Hi</p>', locales: { ko: { subject: '안녕하세요' } } };
    expect(configProblems(node('m', 'message', { channel: 'email', content: half }), catalog).map((p) => p.field)).toEqual(['config.content.locales.ko.html']);
    const bare = { subject: '', html: '<p>Hi</p>', locales: { ko: {} } };
    expect(configProblems(node('m', 'message', { channel: 'email', content: bare }), catalog).map((p) => p.field)).toEqual(['config.content.subject', 'config.content.locales.ko.subject', 'config.content.locales.ko.html']);
  });
});

describe('canConnect', () => {
  it('refuses loops, edges into the start, self edges and unknown handles', () => {
    expect(canConnect(good, goodEdges, { source: 'mail', sourceHandle: 'failed', target: 'wait' }, catalog)).toBe(false);
    expect(canConnect(good, goodEdges, { source: 'wait', sourceHandle: 'next', target: 'start' }, catalog)).toBe(false);
    expect(canConnect(good, goodEdges, { source: 'mail', sourceHandle: 'failed', target: 'mail' }, catalog)).toBe(false);
    expect(canConnect(good, goodEdges, { source: 'mail', sourceHandle: 'yes', target: 'done' }, catalog)).toBe(false);
    expect(canConnect(good, goodEdges, { source: 'mail', sourceHandle: 'failed', target: 'done' }, catalog)).toBe(true);
  });
});
