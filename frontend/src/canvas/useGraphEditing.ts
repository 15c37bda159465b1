// The edits a marketer makes on the canvas itself: move, delete, connect (one edge per handle, no
// loops), add from the palette (drop, or click / Enter: below the selected step and connected to
// it), edit a node's data, auto arrange, rename an output, and the keyboard: undo/redo, copy/paste
// (the copy lands clear of the original and its panel opens). Also where the view goes: a fit
// that keeps the journey clear of the toolbar and minimap, and a pan that shows a node.
import { applyEdgeChanges, applyNodeChanges, type Connection, type EdgeChange, type NodeChange, useReactFlow } from '@xyflow/react';
import { type DragEvent, type RefObject, useCallback, useEffect, useRef } from 'react';

import { type Clip, copySelection, pasteClip } from '../lib/clipboard';
import { edgeId, type FlowEdge, newNodeId } from '../lib/graph';
import { autoLayout, NODE_HEIGHT, NODE_WIDTH } from '../lib/layout';
import { DRAG_MIME, handlesFor, hasInput, type NodeCatalog, type PaletteItem, paletteItem, renameHandle as renamedData } from '../lib/node-types';
import { boundsOf, boxOf, type Chrome, clearShift, fitClear, freeSpot, GAP, panToShow } from '../lib/placement';
import { canConnect } from '../lib/rules';
import { workerElk } from './elk';
import type { JourneyNode } from './nodes';
import type { useGraphHistory } from './useGraphHistory';
import type { usePanels } from './usePanels';

export const MIN_ZOOM = 0.1;

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

  /** Adds a node with its top left corner at `at`; `from` connects an output of another to it. */
  /** Leaves an output unconnected (the "Connect to" menu's first choice). */
  const disconnect = useCallback(
    (source: string, handle: string) => {
      setEdges((es) => es.filter((e) => !(e.source === source && e.sourceHandle === handle)));
      commit();
    },
    [commit, setEdges],
  );

  const addNode = useCallback(
    (item: PaletteItem, at: { x: number; y: number }, from?: { source: string; handle: string }) => {
      if (readOnly) return;
      const id = newNodeId(item.kind, nodesRef.current.map((n) => n.id));
      const node: JourneyNode = {
        id,
        type: item.kind,
        position: at,
        data: { name: item.label, config: structuredClone(item.config) },
        selected: true,
      };
      setNodes((ns) => [...ns.map((n) => (n.selected ? { ...n, selected: false } : n)), node]);
      if (from) setEdges((es) => [...es, { id: edgeId(from.source, from.handle, id), source: from.source, sourceHandle: from.handle, target: id }]);
      openNode(id);
      commit();
    },
    [commit, nodesRef, openNode, readOnly, setEdges, setNodes],
  );
  const onDrop = useCallback(
    (e: DragEvent) => {
      e.preventDefault();
      const item = paletteItem(catalog, e.dataTransfer.getData(DRAG_MIME));
      const at = flow.screenToFlowPosition({ x: e.clientX, y: e.clientY });
      if (item) addNode(item, { x: at.x - NODE_WIDTH / 2, y: at.y - 30 });
    },
    [addNode, catalog, flow],
  );
  const onDragOver = useCallback((e: DragEvent) => {
    if (e.dataTransfer.types.includes(DRAG_MIME)) {
      e.preventDefault();
      e.dataTransfer.dropEffect = 'move';
    }
  }, []);
  /** A palette item picked with a click or Enter: below the selected step, joined to its first
   * free output, or in the middle of the view; either way clear of every other node. */
  const addFromPalette = useCallback(
    (item: PaletteItem) => {
      const box = wrapper.current?.getBoundingClientRect();
      if (!box) return;
      const nodes = nodesRef.current;
      const taken = nodes.map(boxOf);
      const anchor = nodes.find((n) => n.selected) ?? nodes.find((n) => n.id === panels.selectedId);
      if (anchor) {
        const a = boxOf(anchor);
        const at = freeSpot(taken, { x: a.x + (a.width - NODE_WIDTH) / 2, y: a.y + a.height + GAP + 20, width: NODE_WIDTH, height: NODE_HEIGHT });
        const used = new Set(edgesRef.current.filter((e) => e.source === anchor.id).map((e) => e.sourceHandle));
        const handle = handlesFor(catalog.get(anchor.type), anchor.data.config).find((h) => !used.has(h));
        // A new node cannot close a loop, so a free output and a target with an input are enough.
        addNode(item, at, handle !== undefined && hasInput(catalog.get(item.kind)) ? { source: anchor.id, handle } : undefined);
        return;
      }
      const center = flow.screenToFlowPosition({ x: box.left + box.width / 2, y: box.top + box.height / 2 });
      addNode(item, freeSpot(taken, { x: center.x - NODE_WIDTH / 2, y: center.y - NODE_HEIGHT / 2, width: NODE_WIDTH, height: NODE_HEIGHT }));
    },
    [addNode, catalog, edgesRef, flow, nodesRef, panels.selectedId, wrapper],
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
  /** Fits the journey in view, clear of the toolbar, the zoom controls and the minimap. */
  const fit = useCallback(
    (nodes: readonly JourneyNode[] = nodesRef.current, duration = 0) => {
      const el = wrapper.current;
      const bounds = boundsOf(nodes.map(boxOf));
      if (!el || !bounds) return;
      const view = el.getBoundingClientRect();
      const rect = (selector: string) => el.querySelector(selector)?.getBoundingClientRect();
      const tools = rect('.canvas-tools');
      const controls = rect('.react-flow__controls');
      const minimap = rect('.react-flow__minimap');
      const chrome: Chrome = {
        top: tools ? tools.bottom - view.top : 0,
        controls: controls ? { width: controls.right - view.left, height: view.bottom - controls.top } : { width: 0, height: 0 },
        minimap: minimap ? { width: view.right - minimap.left, height: view.bottom - minimap.top } : { width: 0, height: 0 },
      };
      flow.setViewport(fitClear(bounds, view, chrome, MIN_ZOOM), { duration });
    },
    [flow, nodesRef, wrapper],
  );
  /** Pans, as little as needed, until the node is in view (say beside a panel that just opened). */
  const reveal = useCallback(
    (id: string) => {
      const node = nodesRef.current.find((n) => n.id === id);
      const el = wrapper.current;
      if (!node || !el) return;
      const { width, height } = el.getBoundingClientRect();
      const moved = panToShow(boxOf(node), flow.getViewport(), { width, height });
      if (moved) flow.setViewport(moved, { duration: 200 });
    },
    [flow, nodesRef, wrapper],
  );
  const arrange = useCallback(async () => {
    const laid = await autoLayout(nodesRef.current, edgesRef.current, catalog, workerElk());
    setNodes(laid);
    commit();
    requestAnimationFrame(() => fit(laid, 300));
  }, [catalog, commit, edgesRef, fit, nodesRef, setNodes]);

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
        // Beside the original (and any earlier copy), never on it.
        const moving = clip.current.nodes.filter((n) => n.type !== 'start').map(boxOf);
        const width = (boundsOf(moving)?.width ?? NODE_WIDTH) + GAP;
        const pasted = pasteClip(clip.current, nodesRef.current, { x: clearShift(moving, nodesRef.current.map(boxOf), width, width), y: 0 });
        setNodes((ns) => [...ns.map((n) => ({ ...n, selected: false })), ...pasted.nodes]);
        setEdges((es) => [...es, ...pasted.edges]);
        // A second paste lands further along instead of on the first copy.
        clip.current = { nodes: pasted.nodes, edges: pasted.edges };
        // The panel edits the copy from now on, not the original.
        if (pasted.nodes.length) openNode(pasted.nodes[0].id);
        commit();
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [commit, edgesRef, nodesRef, openNode, readOnly, redo, setEdges, setNodes, undo]);

  /** Opens the node's panel and centers the canvas on it. */
  const focusNode = useCallback(
    (id: string) => {
      const node = nodesRef.current.find((n) => n.id === id);
      openNode(id);
      if (node) flow.setCenter(node.position.x + NODE_WIDTH / 2, node.position.y + 50, { zoom: 1, duration: 300 });
    },
    [flow, nodesRef, openNode],
  );

  return { onNodesChange, onEdgesChange, isValidConnection, onConnect, disconnect, onDrop, onDragOver, addFromPalette, updateNode, deleteNode, renameHandle, arrange, fit, reveal, focusNode };
}
