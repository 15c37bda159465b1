// The edits a marketer makes on the canvas itself: move, delete, connect (one edge per handle, no
// loops), add from the palette (drop or click), edit a node's data, auto arrange, rename an output,
// and the keyboard: undo/redo, copy/paste (delete is React Flow's own, on Backspace/Delete).
import { applyEdgeChanges, applyNodeChanges, type Connection, type EdgeChange, type NodeChange, useReactFlow } from '@xyflow/react';
import { type DragEvent, type RefObject, useCallback, useEffect, useRef } from 'react';

import { type Clip, copySelection, pasteClip } from '../lib/clipboard';
import { edgeId, type FlowEdge, newNodeId } from '../lib/graph';
import { autoLayout, NODE_WIDTH } from '../lib/layout';
import { DRAG_MIME, type NodeCatalog, type PaletteItem, paletteItem, renameHandle as renamedData } from '../lib/node-types';
import { canConnect } from '../lib/rules';
import { workerElk } from './elk';
import type { JourneyNode } from './nodes';
import type { useGraphHistory } from './useGraphHistory';
import type { usePanels } from './usePanels';

function isTyping(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  return !!el && (el.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(el.tagName));
}

export function useGraphEditing({
  graph,
  panels,
  catalog,
  readOnly,
  wrapper,
}: {
  graph: ReturnType<typeof useGraphHistory>;
  panels: ReturnType<typeof usePanels>;
  catalog: NodeCatalog;
  readOnly: boolean;
  wrapper: RefObject<HTMLDivElement | null>;
}) {
  const flow = useReactFlow<JourneyNode, FlowEdge>();
  const { setNodes, setEdges, nodesRef, edgesRef, commit, commitSoon, undo, redo } = graph;
  const { openNode, close, closeNode } = panels;

  const onNodesChange = useCallback(
    (changes: NodeChange<JourneyNode>[]) => {
      setNodes((ns) => applyNodeChanges(changes, ns));
      if (changes.some((c) => c.type === 'remove' || (c.type === 'position' && c.dragging === false))) commit();
      const removed = new Set(changes.flatMap((c) => (c.type === 'remove' ? [c.id] : [])));
      if (removed.size) closeNode(removed);
    },
    [commit, closeNode, setNodes],
  );
  const onEdgesChange = useCallback(
    (changes: EdgeChange<FlowEdge>[]) => {
      setEdges((es) => applyEdgeChanges(changes, es));
      if (changes.some((c) => c.type === 'remove')) commit();
    },
    [commit, setEdges],
  );
  const isValidConnection = useCallback(
    (c: Connection | FlowEdge) => canConnect(nodesRef.current, edgesRef.current, { source: c.source, sourceHandle: c.sourceHandle ?? null, target: c.target }, catalog),
    [catalog, nodesRef, edgesRef],
  );
  const onConnect = useCallback(
    (c: Connection) => {
      if (!isValidConnection(c)) return;
      // One edge per handle: a new connection from a used handle replaces the old one.
      setEdges((es) => [
        ...es.filter((e) => !(e.source === c.source && e.sourceHandle === c.sourceHandle)),
        { id: edgeId(c.source, c.sourceHandle ?? '', c.target), source: c.source, sourceHandle: c.sourceHandle, target: c.target },
      ]);
      commit();
    },
    [commit, isValidConnection, setEdges],
  );

  const addNode = useCallback(
    (item: PaletteItem, at: { x: number; y: number }) => {
      if (readOnly) return;
      const id = newNodeId(item.kind, nodesRef.current.map((n) => n.id));
      const node: JourneyNode = {
        id,
        type: item.kind,
        position: { x: at.x - NODE_WIDTH / 2, y: at.y - 30 },
        data: { name: item.label, config: structuredClone(item.config) },
        selected: true,
      };
      setNodes((ns) => [...ns.map((n) => (n.selected ? { ...n, selected: false } : n)), node]);
      openNode(id);
      commit();
    },
    [commit, nodesRef, openNode, readOnly, setNodes],
  );
  const onDrop = useCallback(
    (e: DragEvent) => {
      e.preventDefault();
      const item = paletteItem(catalog, e.dataTransfer.getData(DRAG_MIME));
      if (item) addNode(item, flow.screenToFlowPosition({ x: e.clientX, y: e.clientY }));
    },
    [addNode, catalog, flow],
  );
  const onDragOver = useCallback((e: DragEvent) => {
    if (e.dataTransfer.types.includes(DRAG_MIME)) {
      e.preventDefault();
      e.dataTransfer.dropEffect = 'move';
    }
  }, []);
  const addAtCenter = useCallback(
    (item: PaletteItem) => {
      const box = wrapper.current?.getBoundingClientRect();
      if (!box) return;
      const center = flow.screenToFlowPosition({ x: box.left + box.width / 2, y: box.top + box.height / 2 });
      // Staggered so repeated clicks do not stack nodes exactly on top of each other.
      const shift = (nodesRef.current.length % 6) * 24;
      addNode(item, { x: center.x + shift, y: center.y + shift });
    },
    [addNode, flow, nodesRef, wrapper],
  );

  const updateNode = useCallback(
    (id: string, data: JourneyNode['data']) => {
      setNodes((ns) => ns.map((n) => (n.id === id ? { ...n, data } : n)));
      commitSoon();
    },
    [commitSoon, setNodes],
  );
  const deleteNode = useCallback(
    (id: string) => {
      setNodes((ns) => ns.filter((n) => n.id !== id));
      setEdges((es) => es.filter((e) => e.source !== id && e.target !== id));
      close();
      commit();
    },
    [close, commit, setEdges, setNodes],
  );
  // Renaming an output on the canvas (double-click its label).
  const renameHandle = useCallback(
    (nodeId: string, handle: string, label: string) => {
      setNodes((ns) => ns.map((n) => (n.id === nodeId ? { ...n, data: renamedData(catalog.get(n.type), n.data, handle, label) } : n)));
      commit();
    },
    [catalog, commit, setNodes],
  );
  const arrange = useCallback(async () => {
    const laid = await autoLayout(nodesRef.current, edgesRef.current, catalog, workerElk());
    setNodes(laid);
    commit();
    requestAnimationFrame(() => flow.fitView({ padding: 0.15, duration: 300 }));
  }, [catalog, commit, edgesRef, flow, nodesRef, setNodes]);

  const clip = useRef<Clip | null>(null);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (isTyping(e.target) || !(e.ctrlKey || e.metaKey)) return;
      const key = e.key.toLowerCase();
      if (key === 'z' && !readOnly) {
        e.preventDefault();
        if (e.shiftKey) redo();
        else undo();
      } else if (key === 'y' && !readOnly) {
        e.preventDefault();
        redo();
      } else if (key === 'c') {
        const picked = copySelection(nodesRef.current, edgesRef.current);
        if (picked.nodes.length) clip.current = picked;
      } else if (key === 'v' && clip.current && !readOnly) {
        e.preventDefault();
        const pasted = pasteClip(clip.current, nodesRef.current);
        setNodes((ns) => [...ns.map((n) => ({ ...n, selected: false })), ...pasted.nodes]);
        setEdges((es) => [...es, ...pasted.edges]);
        // A second paste lands further along instead of on the first copy.
        clip.current = { nodes: pasted.nodes, edges: pasted.edges };
        commit();
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [commit, edgesRef, nodesRef, readOnly, redo, setEdges, setNodes, undo]);

  /** Opens the node's panel and centers the canvas on it. */
  const focusNode = useCallback(
    (id: string) => {
      const node = nodesRef.current.find((n) => n.id === id);
      openNode(id);
      if (node) flow.setCenter(node.position.x + NODE_WIDTH / 2, node.position.y + 50, { zoom: 1, duration: 300 });
    },
    [flow, nodesRef, openNode],
  );

  return { onNodesChange, onEdgesChange, isValidConnection, onConnect, onDrop, onDragOver, addAtCenter, updateNode, deleteNode, renameHandle, arrange, focusNode };
}
