import { describe, expect, it } from 'vitest';

import { copySelection, pasteClip } from './clipboard';
import type { FlowEdge, FlowNode } from './graph';
import { HISTORY_LIMIT, historyPush, historyRedo, historyStart, historyUndo } from './history';

describe('history', () => {
  it('undoes and redoes, and a new edit drops the redo branch', () => {
    let h = historyStart('a');
    h = historyPush(h, 'b');
    h = historyPush(h, 'c');
    h = historyUndo(h);
    expect(h.present).toBe('b');
    h = historyRedo(h);
    expect(h.present).toBe('c');
    h = historyUndo(historyUndo(h));
    expect(h.present).toBe('a');
    expect(historyUndo(h)).toBe(h);
    h = historyPush(h, 'x');
    expect(h.future).toEqual([]);
    expect(historyRedo(h)).toBe(h);
  });

  it('keeps a bounded number of steps', () => {
    let h = historyStart(0);
    for (let i = 1; i <= HISTORY_LIMIT + 20; i++) h = historyPush(h, i);
    expect(h.past).toHaveLength(HISTORY_LIMIT);
  });
});

describe('copy / paste', () => {
  const nodes: FlowNode[] = [
    { id: 'start', type: 'start', position: { x: 0, y: 0 }, data: { name: 's', config: {} }, selected: true },
    { id: 'wait_1', type: 'wait', position: { x: 0, y: 100 }, data: { name: 'w', config: { mode: 'duration' } }, selected: true },
    { id: 'exit_1', type: 'exit', position: { x: 0, y: 200 }, data: { name: 'e', config: {} }, selected: true },
    { id: 'exit_2', type: 'exit', position: { x: 200, y: 200 }, data: { name: 'e2', config: {} } },
  ];
  const edges: FlowEdge[] = [
    { id: 'a', source: 'start', sourceHandle: 'next', target: 'wait_1' },
    { id: 'b', source: 'wait_1', sourceHandle: 'next', target: 'exit_1' },
  ];

  it('copies selected nodes with the edges between them, pasted under fresh ids, without a second start', () => {
    const clip = copySelection(nodes, edges);
    expect(clip.nodes.map((n) => n.id)).toEqual(['start', 'wait_1', 'exit_1']);
    const pasted = pasteClip(clip, nodes);
    expect(pasted.nodes.map((n) => n.id)).toEqual(['wait_2', 'exit_3']);
    expect(pasted.nodes[0].position).toEqual({ x: 40, y: 140 });
    expect(pasted.edges).toEqual([{ id: 'wait_2-next-exit_3', source: 'wait_2', sourceHandle: 'next', target: 'exit_3' }]);
    pasted.nodes[0].data.config.mode = 'until';
    expect(nodes[1].data.config.mode).toBe('duration');
  });
});
