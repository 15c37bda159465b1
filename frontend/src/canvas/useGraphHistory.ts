// The canvas graph (React Flow nodes and edges) with its undo/redo history: `commit` records the
// current graph as one step, `commitSoon` does so after a pause in typing.
import { useCallback, useEffect, useRef, useState } from 'react';

import type { FlowEdge } from '../lib/graph';
import { type History, historyPush, historyRedo, historyStart, historyUndo } from '../lib/history';
import type { JourneyNode } from './nodes';

interface Snapshot {
  nodes: JourneyNode[];
  edges: FlowEdge[];
}

const TYPING_COMMIT_MS = 500; // one undo step per pause in typing, not per keystroke

/** `onStep` runs after every recorded step, undo and redo (an edit makes the last Validate stale). */
export function useGraphHistory(start: Snapshot, onStep: () => void) {
  const [nodes, setNodes] = useState<JourneyNode[]>(start.nodes);
  const [edges, setEdges] = useState<FlowEdge[]>(start.edges);
  // The latest graph for callbacks that must not change identity on every edit.
  const nodesRef = useRef(nodes);
  const edgesRef = useRef(edges);
  nodesRef.current = nodes;
  edgesRef.current = edges;
  const onStepRef = useRef(onStep);
  onStepRef.current = onStep;

  const history = useRef<History<Snapshot>>(historyStart({ nodes, edges }));
  const [tick, setTick] = useState(0);
  const [, setHistoryVersion] = useState(0);
  const commit = useCallback(() => setTick((t) => t + 1), []);
  const typingTimer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const commitSoon = useCallback(() => {
    clearTimeout(typingTimer.current);
    typingTimer.current = setTimeout(commit, TYPING_COMMIT_MS);
  }, [commit]);

  useEffect(() => {
    if (tick === 0) return;
    history.current = historyPush(history.current, { nodes: nodesRef.current, edges: edgesRef.current });
    setHistoryVersion((v) => v + 1);
    onStepRef.current();
  }, [tick]);

  const restore = useCallback((h: History<Snapshot>) => {
    history.current = h;
    setNodes(h.present.nodes.map((n) => ({ ...n, selected: false })));
    setEdges(h.present.edges);
    setHistoryVersion((v) => v + 1);
    onStepRef.current();
  }, []);
  const undo = useCallback(() => restore(historyUndo(history.current)), [restore]);
  const redo = useCallback(() => restore(historyRedo(history.current)), [restore]);

  return {
    nodes,
    edges,
    setNodes,
    setEdges,
    nodesRef,
    edgesRef,
    commit,
    commitSoon,
    undo,
    redo,
    canUndo: history.current.past.length > 0,
    canRedo: history.current.future.length > 0,
  };
}
