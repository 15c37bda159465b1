// The journey builder: palette, React Flow canvas, node settings, journey settings, simulate,
// undo/redo, copy/paste, autosave of the draft, validate and the status actions.
import {
  applyEdgeChanges,
  applyNodeChanges,
  Background,
  type Connection,
  Controls,
  type EdgeChange,
  MiniMap,
  type NodeChange,
  Panel,
  ReactFlow,
  useReactFlow,
} from '@xyflow/react';
import { type DragEvent, useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { Link } from 'react-router';

import { api, ApiError, errorMessage, type Journey, ok, type Schemas } from '../api/client';
import { StatusBadge } from '../components/StatusBadge';
import { Button, Dialog } from '../components/ui';
import { copySelection, pasteClip, type Clip } from '../lib/clipboard';
import { edgeId, type FlowEdge, flowToGraph, graphToFlow, type ApiGraph, newNodeId } from '../lib/graph';
import { type History, historyPush, historyRedo, historyStart, historyUndo } from '../lib/history';
import { renameHandle as renamedData } from '../lib/handles';
import { autoLayout, NODE_WIDTH } from '../lib/layout';
import { DRAG_MIME, PALETTE_ITEMS, type PaletteItem } from '../lib/palette';
import { canConnect, graphProblems, type Problem, problemsByNode } from '../lib/rules';
import type { JourneySettings } from '../lib/settings';
import { canEdit, useSession } from '../session';
import { CanvasContext, type CanvasInfo } from './context';
import { workerElk } from './elk';
import { NodePanel } from './NodePanel';
import { type JourneyNode, nodeTypes } from './nodes';
import { Palette } from './Palette';
import { SettingsDrawer } from './SettingsDrawer';
import { SimulatePanel } from './SimulatePanel';
import { type LiveMode, useLiveCounts } from './useLiveCounts';

interface Snapshot {
  nodes: JourneyNode[];
  edges: FlowEdge[];
}

type SidePanel = { kind: 'node'; id: string } | { kind: 'settings' } | { kind: 'simulate' } | null;
type SaveState = 'saved' | 'dirty' | 'saving' | 'error';
type Action = 'start' | 'pause' | 'resume' | 'stop';

const AUTOSAVE_MS = 800;
const TYPING_COMMIT_MS = 500; // one undo step per pause in typing, not per keystroke
// Drawing only the nodes in view pays off for very large journeys; below this the per-frame "what
// is in view" check during a pan buys nothing (a fitted 150-node journey is all in view anyway).
const VISIBLE_ONLY_FROM = 300;

const CONFIRM: Record<Action, { title: string; text: string; button: string; danger?: boolean }> = {
  start: {
    title: 'Start this journey?',
    text: 'The draft is published as a new version and customers who meet the entry rule start entering right away.',
    button: 'Start journey',
  },
  pause: { title: 'Pause this journey?', text: 'Nobody new enters and customers in the journey hold where they are until you resume.', button: 'Pause' },
  resume: { title: 'Resume this journey?', text: 'Customers continue from where they were held, and new customers can enter again.', button: 'Resume' },
  stop: {
    title: 'Stop this journey?',
    text: 'Every customer in the journey exits now (reason “journey stopped”) and the journey cannot be started again. This cannot be undone.',
    button: 'Stop journey',
    danger: true,
  },
};

const LIVE_DOT: Record<LiveMode, { text: string; title: string }> = {
  live: { text: 'Live', title: 'Counts are pushed as customers move' },
  connecting: { text: 'Connecting…', title: 'Opening the live connection' },
  polling: { text: 'Reconnecting…', title: 'The live connection dropped: counts refresh every few seconds until it is back' },
  unavailable: { text: 'Not live', title: 'Counts as of the last refresh' },
};

function isTyping(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  return !!el && (el.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(el.tagName));
}

export function Editor({ initial }: { initial: Journey }) {
  const { workspace } = useSession();
  const flow = useReactFlow<JourneyNode, FlowEdge>();
  const start = useMemo(() => graphToFlow(initial.graph as unknown as ApiGraph), [initial]);
  const [meta, setMeta] = useState<Journey>(initial);
  const [name, setName] = useState(initial.name);
  const [nodes, setNodes] = useState<JourneyNode[]>(start.nodes as JourneyNode[]);
  const [edges, setEdges] = useState<FlowEdge[]>(start.edges);
  const [settings, setSettings] = useState<JourneySettings>((initial.settings ?? {}) as JourneySettings);
  const [panel, setPanel] = useState<SidePanel>(null);
  const [serverProblems, setServerProblems] = useState<Problem[] | null>(null);
  const [showProblems, setShowProblems] = useState(false);
  const [notice, setNotice] = useState<{ tone: 'info' | 'error' | 'success'; text: string } | null>(null);
  const [confirm, setConfirm] = useState<Action | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [publishOpen, setPublishOpen] = useState(false);
  const [path, setPath] = useState<Set<string> | null>(null);

  const readOnly = !canEdit(workspace) || meta.status === 'stopped' || meta.status === 'archived';

  // ---- history (undo/redo) -------------------------------------------------------------
  const nodesRef = useRef(nodes);
  const edgesRef = useRef(edges);
  nodesRef.current = nodes;
  edgesRef.current = edges;
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
    setServerProblems(null); // an edit makes the last Validate stale
  }, [tick]);

  const restore = useCallback((h: History<Snapshot>) => {
    history.current = h;
    setNodes(h.present.nodes.map((n) => ({ ...n, selected: false })));
    setEdges(h.present.edges);
    setHistoryVersion((v) => v + 1);
    setServerProblems(null);
  }, []);
  const undo = useCallback(() => restore(historyUndo(history.current)), [restore]);
  const redo = useCallback(() => restore(historyRedo(history.current)), [restore]);

  // ---- autosave ---------------------------------------------------------------------------
  const graph = useMemo(() => flowToGraph(nodes, edges), [nodes, edges]);
  const draftBody = useMemo(() => JSON.stringify({ name, graph, settings }), [name, graph, settings]);
  // Lazily: a useRef argument is evaluated on every render, and this one serializes the graph.
  const lastSaved = useRef<string | null>(null);
  lastSaved.current ??= JSON.stringify({ name: initial.name, graph: flowToGraph(start.nodes, start.edges), settings: initial.settings ?? {} });
  const [saveState, setSaveState] = useState<SaveState>('saved');
  const [saveError, setSaveError] = useState<string | null>(null);
  const draftRef = useRef(draftBody);
  draftRef.current = draftBody;
  const saving = useRef<Promise<void>>(Promise.resolve());

  /** Saves the current draft if it changed; chained so two saves never race. */
  const saveNow = useCallback((): Promise<void> => {
    const run = async () => {
      const text = draftRef.current;
      if (text === lastSaved.current || readOnly) return;
      setSaveState('saving');
      try {
        const saved = await ok(api.PATCH('/api/v1/journeys/{id}', { params: { path: { id: String(initial.id) } }, body: JSON.parse(text) }));
        lastSaved.current = text;
        setMeta(saved);
        setSaveError(null);
        setSaveState(draftRef.current === text ? 'saved' : 'dirty');
      } catch (e) {
        setSaveState('error');
        setSaveError(errorMessage(e));
        throw e;
      }
    };
    saving.current = saving.current.catch(() => undefined).then(run);
    return saving.current;
  }, [initial.id, readOnly]);

  useEffect(() => {
    if (readOnly || draftBody === lastSaved.current) return;
    setSaveState((s) => (s === 'error' ? s : 'dirty'));
    const t = setTimeout(() => saveNow().catch(() => undefined), AUTOSAVE_MS);
    return () => clearTimeout(t);
  }, [draftBody, readOnly, saveNow]);

  useEffect(() => {
    // Leaving with unsaved edits asks first (the debounce may not have fired yet).
    const warn = (e: BeforeUnloadEvent) => {
      if (draftRef.current !== lastSaved.current && !readOnly) e.preventDefault();
    };
    window.addEventListener('beforeunload', warn);
    return () => window.removeEventListener('beforeunload', warn);
  }, [readOnly]);

  // ---- problems: live hints, or the last Validate's answer until the next edit --------------
  const hintsKey = JSON.stringify(serverProblems ?? graphProblems(nodes, edges));
  const problemList = useMemo(() => JSON.parse(hintsKey) as Problem[], [hintsKey]);
  const problems = useMemo(() => problemsByNode(problemList), [problemList]);

  // ---- live counts ------------------------------------------------------------------------
  const live = useLiveCounts(initial.id, meta.version != null);

  // ---- renaming an output on the canvas (double-click its label) ---------------------------
  const renameHandle = useCallback(
    (nodeId: string, handle: string, label: string) => {
      setNodes((ns) => ns.map((n) => (n.id === nodeId ? ({ ...n, data: renamedData(n.type, n.data, handle, label) } as JourneyNode) : n)));
      commit();
    },
    [commit],
  );

  const info: CanvasInfo = useMemo(
    () => ({ problems, counts: live.counts, path, settings, live: live.mode, renameHandle: readOnly ? null : renameHandle }),
    [problems, live.counts, live.mode, path, settings, readOnly, renameHandle],
  );

  // ---- editing ----------------------------------------------------------------------------
  const onNodesChange = useCallback(
    (changes: NodeChange<JourneyNode>[]) => {
      setNodes((ns) => applyNodeChanges(changes, ns));
      if (changes.some((c) => c.type === 'remove' || (c.type === 'position' && c.dragging === false))) commit();
      const removed = new Set(changes.flatMap((c) => (c.type === 'remove' ? [c.id] : [])));
      if (removed.size) setPanel((p) => (p?.kind === 'node' && removed.has(p.id) ? null : p));
    },
    [commit],
  );
  const onEdgesChange = useCallback(
    (changes: EdgeChange<FlowEdge>[]) => {
      setEdges((es) => applyEdgeChanges(changes, es));
      if (changes.some((c) => c.type === 'remove')) commit();
    },
    [commit],
  );
  const isValidConnection = useCallback(
    (c: Connection | FlowEdge) => canConnect(nodesRef.current, edgesRef.current, { source: c.source, sourceHandle: c.sourceHandle ?? null, target: c.target }),
    [],
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
    [commit, isValidConnection],
  );

  const addNode = useCallback(
    (item: PaletteItem, at: { x: number; y: number }) => {
      if (readOnly) return;
      const id = newNodeId(item.kind, nodesRef.current.map((n) => n.id));
      const node = {
        id,
        type: item.kind,
        position: { x: at.x - NODE_WIDTH / 2, y: at.y - 30 },
        data: { name: item.label, config: structuredClone(item.config) },
        selected: true,
      } as JourneyNode;
      setNodes((ns) => [...ns.map((n) => (n.selected ? { ...n, selected: false } : n)), node]);
      setPanel({ kind: 'node', id });
      commit();
    },
    [commit, readOnly],
  );

  const wrapper = useRef<HTMLDivElement>(null);
  const onDrop = useCallback(
    (e: DragEvent) => {
      e.preventDefault();
      const item = PALETTE_ITEMS.get(e.dataTransfer.getData(DRAG_MIME));
      if (item) addNode(item, flow.screenToFlowPosition({ x: e.clientX, y: e.clientY }));
    },
    [addNode, flow],
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
    [addNode, flow],
  );

  const updateNode = useCallback(
    (id: string, data: JourneyNode['data']) => {
      setNodes((ns) => ns.map((n) => (n.id === id ? ({ ...n, data } as JourneyNode) : n)));
      commitSoon();
    },
    [commitSoon],
  );
  const deleteNode = useCallback(
    (id: string) => {
      setNodes((ns) => ns.filter((n) => n.id !== id));
      setEdges((es) => es.filter((e) => e.source !== id && e.target !== id));
      setPanel(null);
      commit();
    },
    [commit],
  );
  const arrange = useCallback(async () => {
    const laid = await autoLayout(nodesRef.current, edgesRef.current, workerElk());
    setNodes(laid);
    commit();
    requestAnimationFrame(() => flow.fitView({ padding: 0.15, duration: 300 }));
  }, [commit, flow]);

  // ---- keyboard: undo/redo, copy/paste (delete is React Flow's own, on Backspace/Delete) ----
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
        setNodes((ns) => [...ns.map((n) => ({ ...n, selected: false })), ...(pasted.nodes as JourneyNode[])]);
        setEdges((es) => [...es, ...pasted.edges]);
        // A second paste lands further along instead of on the first copy.
        clip.current = { nodes: pasted.nodes, edges: pasted.edges };
        commit();
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [commit, readOnly, redo, undo]);

  // ---- validate and status actions ---------------------------------------------------------
  const validate = useCallback(async () => {
    setBusy('validate');
    try {
      await saveNow();
      const result = await ok(api.POST('/api/v1/journeys/{id}/validate', { params: { path: { id: String(initial.id) } } }));
      setServerProblems(result.errors);
      setShowProblems(!result.valid);
      setNotice(result.valid ? { tone: 'success', text: 'The journey is valid and ready to start.' } : { tone: 'error', text: `${result.errors.length} problem${result.errors.length === 1 ? '' : 's'} to fix.` });
    } catch (e) {
      setNotice({ tone: 'error', text: errorMessage(e) });
    } finally {
      setBusy(null);
    }
  }, [initial.id, saveNow]);

  const act = useCallback(
    async (action: Action, inFlight?: 'move' | 'keep') => {
      setConfirm(null);
      setPublishOpen(false);
      setBusy(action);
      try {
        await saveNow();
        const params = { params: { path: { id: String(initial.id) } } };
        let next: Journey;
        if (action === 'start') next = await ok(api.PUT('/api/v1/journeys/{id}/start', { ...params, body: { in_flight: inFlight ?? 'move' } }));
        else if (action === 'pause') next = await ok(api.PUT('/api/v1/journeys/{id}/pause', params));
        else if (action === 'resume') next = await ok(api.PUT('/api/v1/journeys/{id}/resume', params));
        else next = await ok(api.PUT('/api/v1/journeys/{id}/stop', params));
        const published = action === 'start' && meta.status === 'active';
        setMeta(next);
        setServerProblems(null);
        setNotice({
          tone: 'success',
          text: published ? `Published version ${next.version}.` : action === 'start' ? `Started: version ${next.version} is live.` : `Journey ${next.status}.`,
        });
      } catch (e) {
        if (e instanceof ApiError && Array.isArray(e.details.errors)) {
          setServerProblems(e.details.errors as Problem[]);
          setShowProblems(true);
        }
        setNotice({ tone: 'error', text: errorMessage(e) });
      } finally {
        setBusy(null);
      }
    },
    [initial.id, meta.status, saveNow],
  );

  const selectedId = panel?.kind === 'node' ? panel.id : null;
  const selected = selectedId ? nodes.find((n) => n.id === selectedId) : undefined;
  const hasStart = nodes.some((n) => n.type === 'start');
  const nodeName = useCallback((id: string) => nodesRef.current.find((n) => n.id === id)?.data.name || id, []);
  const settingsProblems = problemList.filter((p) => p.node_id === null);

  const focusProblem = (p: Problem) => {
    if (p.node_id) {
      const node = nodesRef.current.find((n) => n.id === p.node_id);
      setPanel({ kind: 'node', id: p.node_id });
      if (node) flow.setCenter(node.position.x + NODE_WIDTH / 2, node.position.y + 50, { zoom: 1, duration: 300 });
    } else if (p.field.startsWith('settings')) setPanel({ kind: 'settings' });
  };

  return (
    <div className="editor">
      <header className="editor-bar">
        <Link to="/journeys" className="back" aria-label="Back to journeys">
          ←
        </Link>
        <input
          className="title-input"
          aria-label="Journey name"
          value={name}
          disabled={readOnly}
          maxLength={200}
          onChange={(e) => setName(e.target.value)}
        />
        <StatusBadge status={meta.status} />
        {meta.version != null && <span className="muted small">v{meta.version} live</span>}
        <SaveIndicator state={saveState} error={saveError} readOnly={readOnly} onRetry={() => saveNow().catch(() => undefined)} />
        <div className="grow" />
        {live.counts && (
          <span className={`live-dot live-${live.mode}`} role="status" title={LIVE_DOT[live.mode].title}>
            {LIVE_DOT[live.mode].text}
          </span>
        )}
        <Button onClick={() => setPanel(panel?.kind === 'settings' ? null : { kind: 'settings' })}>Journey settings</Button>
        <Button onClick={() => setPanel(panel?.kind === 'simulate' ? null : { kind: 'simulate' })}>Simulate</Button>
        <Button onClick={validate} busy={busy === 'validate'}>
          Validate
        </Button>
        {!readOnly && meta.status === 'draft' && (
          <Button variant="primary" busy={busy === 'start'} onClick={() => setConfirm('start')}>
            Start
          </Button>
        )}
        {!readOnly && meta.status === 'active' && (
          <>
            <Button variant="primary" onClick={() => setPublishOpen(true)}>
              Publish changes
            </Button>
            <Button busy={busy === 'pause'} onClick={() => setConfirm('pause')}>
              Pause
            </Button>
          </>
        )}
        {!readOnly && meta.status === 'paused' && (
          <Button variant="primary" busy={busy === 'resume'} onClick={() => setConfirm('resume')}>
            Resume
          </Button>
        )}
        {!readOnly && (meta.status === 'active' || meta.status === 'paused') && (
          <Button variant="danger" busy={busy === 'stop'} onClick={() => setConfirm('stop')}>
            Stop
          </Button>
        )}
      </header>
      {notice && (
        <div className={`banner banner-${notice.tone}`} role={notice.tone === 'error' ? 'alert' : 'status'}>
          <span>{notice.text}</span>
          {problemList.length > 0 && notice.tone === 'error' && (
            <button type="button" className="link-btn" onClick={() => setShowProblems(true)}>
              Show problems
            </button>
          )}
          <button type="button" className="icon-btn" aria-label="Dismiss" onClick={() => setNotice(null)}>
            ×
          </button>
        </div>
      )}
      {meta.status === 'active' && !readOnly && (
        <div className="banner banner-info">Editing a live journey: your edits are saved to the draft. Publish changes to apply them to customers.</div>
      )}
      {readOnly && (
        <div className="banner banner-info">
          {canEdit(workspace) ? `This journey is ${meta.status}; it can no longer be edited. Duplicate it from the list to build on it.` : 'You have view access: the canvas is read-only.'}
        </div>
      )}
      <div className="editor-body">
        <Palette onAdd={addAtCenter} disabled={readOnly} hasStart={hasStart} />
        <div className="canvas" ref={wrapper} onDrop={onDrop} onDragOver={onDragOver} data-testid="canvas">
          <CanvasContext.Provider value={info}>
            <ReactFlow<JourneyNode, FlowEdge>
              nodes={nodes}
              edges={edges}
              nodeTypes={nodeTypes}
              onNodesChange={onNodesChange}
              onEdgesChange={onEdgesChange}
              onConnect={onConnect}
              isValidConnection={isValidConnection}
              onNodeClick={(_, n) => setPanel({ kind: 'node', id: n.id })}
              onPaneClick={() => setPanel((p) => (p?.kind === 'node' ? null : p))}
              nodesDraggable={!readOnly}
              nodesConnectable={!readOnly}
              deleteKeyCode={readOnly ? null : ['Backspace', 'Delete']}
              defaultEdgeOptions={{ type: 'smoothstep' }}
              onlyRenderVisibleElements={nodes.length > VISIBLE_ONLY_FROM}
              // Only for a stored graph: on an empty canvas it would re-center the first dropped node.
              fitView={start.nodes.length > 0}
              fitViewOptions={{ padding: 0.2, maxZoom: 1 }}
              minZoom={0.1}
              proOptions={{ hideAttribution: true }}
            >
              <Background gap={20} />
              <Controls position="bottom-left" />
              <MiniMap pannable zoomable position="bottom-right" nodeStrokeWidth={3} />
              <Panel position="top-left" className="canvas-tools">
                <Button size="sm" onClick={arrange} disabled={readOnly || nodes.length === 0}>
                  Auto arrange
                </Button>
                <Button size="sm" onClick={undo} disabled={readOnly || history.current.past.length === 0} aria-label="Undo" title="Undo (Ctrl+Z)">
                  ↶ Undo
                </Button>
                <Button size="sm" onClick={redo} disabled={readOnly || history.current.future.length === 0} aria-label="Redo" title="Redo (Ctrl+Shift+Z)">
                  ↷ Redo
                </Button>
                <Button size="sm" onClick={() => setShowProblems(!showProblems)} aria-expanded={showProblems} className={problemList.length ? 'has-problems' : ''}>
                  {problemList.length ? `${problemList.length} issue${problemList.length === 1 ? '' : 's'}` : 'No issues'}
                </Button>
              </Panel>
              {nodes.length === 0 && (
                <Panel position="top-center" className="canvas-empty">
                  <strong>Drag a Trigger from the left to begin.</strong>
                  <span>Then add messages, waits and branches, and connect them from the dots at the bottom of each step.</span>
                </Panel>
              )}
            </ReactFlow>
          </CanvasContext.Provider>
          {showProblems && (
            <section className="problems" aria-label="Problems" data-testid="problems">
              <header>
                <strong>{serverProblems ? 'Validation result' : 'Checks as you edit'}</strong>
                <button type="button" className="icon-btn" aria-label="Close problems" onClick={() => setShowProblems(false)}>
                  ×
                </button>
              </header>
              {problemList.length === 0 ? (
                <p className="muted">No problems found.</p>
              ) : (
                <ul>
                  {problemList.map((p, i) => (
                    <li key={i}>
                      <button type="button" className="link-btn" onClick={() => focusProblem(p)}>
                        {p.node_id ? nodeName(p.node_id) : p.field.startsWith('settings') ? 'Journey settings' : 'Journey'}
                      </button>{' '}
                      <span className="muted small">{p.field}</span> {p.message}
                    </li>
                  ))}
                </ul>
              )}
            </section>
          )}
        </div>
        <CanvasContext.Provider value={info}>
          {panel?.kind === 'node' && selected && (
            <NodePanel
              key={selected.id}
              id={selected.id}
              kind={selected.type}
              data={selected.data}
              readOnly={readOnly}
              onChange={(d) => updateNode(selected.id, d)}
              onDelete={() => deleteNode(selected.id)}
              onClose={() => setPanel(null)}
              onOpenSettings={() => setPanel({ kind: 'settings' })}
            />
          )}
        </CanvasContext.Provider>
        {panel?.kind === 'settings' && (
          <SettingsDrawer
            settings={settings}
            problems={settingsProblems}
            readOnly={readOnly}
            onClose={() => setPanel(null)}
            onChange={(s) => {
              setSettings(s);
              setServerProblems(null);
            }}
          />
        )}
        {panel?.kind === 'simulate' && (
          <SimulatePanel journeyId={initial.id} nodeName={nodeName} beforeRun={saveNow} onPath={setPath} onClose={() => setPanel(null)} />
        )}
      </div>
      {confirm && (
        <Dialog
          title={CONFIRM[confirm].title}
          open
          onClose={() => setConfirm(null)}
          footer={
            <>
              <Button onClick={() => setConfirm(null)}>Cancel</Button>
              <Button variant={CONFIRM[confirm].danger ? 'danger' : 'primary'} onClick={() => act(confirm)}>
                {CONFIRM[confirm].button}
              </Button>
            </>
          }
        >
          <p>{CONFIRM[confirm].text}</p>
        </Dialog>
      )}
      {publishOpen && (
        <PublishDialog journeyId={initial.id} beforeLoad={saveNow} nodeName={nodeName} onCancel={() => setPublishOpen(false)} onPublish={(inFlight) => act('start', inFlight)} />
      )}
    </div>
  );
}

function SaveIndicator({ state, error, readOnly, onRetry }: { state: SaveState; error: string | null; readOnly: boolean; onRetry: () => void }) {
  if (readOnly) return null;
  if (state === 'error') {
    return (
      <span className="save save-error" role="alert" data-testid="save-state">
        Not saved: {error}{' '}
        <button type="button" className="link-btn" onClick={onRetry}>
          Retry
        </button>
      </span>
    );
  }
  const text = { saved: 'All changes saved', dirty: 'Unsaved changes…', saving: 'Saving…' }[state];
  return (
    <span className={`save save-${state}`} data-testid="save-state" aria-live="polite">
      {text}
    </span>
  );
}

/** Editing a live journey: what the publish changes per node, how many customers are at the
 * changed or removed nodes, and whether they move to the new version or keep their own. */
function PublishDialog({
  journeyId,
  beforeLoad,
  nodeName,
  onCancel,
  onPublish,
}: {
  journeyId: number;
  beforeLoad: () => Promise<void>;
  nodeName: (id: string) => string;
  onCancel: () => void;
  onPublish: (inFlight: 'move' | 'keep') => void;
}) {
  const [impact, setImpact] = useState<Schemas['PublishImpactList'] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [inFlight, setInFlight] = useState<'move' | 'keep'>('move');
  useEffect(() => {
    beforeLoad()
      .then(() => ok(api.GET('/api/v1/journeys/{id}/publish-impact', { params: { path: { id: String(journeyId) } } })))
      .then(setImpact)
      .catch((e) => setError(errorMessage(e)));
  }, [beforeLoad, journeyId]);
  const changed = impact?.results.filter((r) => r.change !== 'same') ?? [];
  const affected = changed.filter((r) => r.change === 'changed' || r.change === 'removed').reduce((s, r) => s + r.in_flight, 0);
  return (
    <Dialog
      title="Publish changes to the live journey"
      open
      wide
      onClose={onCancel}
      footer={
        <>
          <Button onClick={onCancel}>Cancel</Button>
          <Button variant="primary" disabled={!impact || changed.length === 0} onClick={() => onPublish(inFlight)}>
            Publish version {impact?.live_version != null ? impact.live_version + 1 : ''}
          </Button>
        </>
      }
    >
      {error && <p className="form-error">{error}</p>}
      {!impact && !error && <p className="muted">Comparing the draft with the live version…</p>}
      {impact && changed.length === 0 && <p>The draft is the same as the live version: nothing to publish.</p>}
      {impact && changed.length > 0 && (
        <div className="stack" data-testid="publish-impact">
          <table className="table">
            <thead>
              <tr>
                <th>Step</th>
                <th>Change</th>
                <th className="num">Customers there now</th>
              </tr>
            </thead>
            <tbody>
              {changed.map((r) => (
                <tr key={r.node_id}>
                  <td>{nodeName(r.node_id)}</td>
                  <td>
                    <span className={`badge badge-${r.change === 'removed' ? 'danger' : r.change === 'added' ? 'success' : 'warning'}`}>{r.change}</span>
                  </td>
                  <td className="num">{r.in_flight}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <p>
            <strong>{affected}</strong> customer{affected === 1 ? ' is' : 's are'} at changed or removed steps.
          </p>
          <fieldset className="choices">
            <legend>Customers already in the journey</legend>
            <label className="check">
              <input type="radio" name="in_flight" checked={inFlight === 'move'} onChange={() => setInFlight('move')} />
              Move them to the new version (those at removed steps exit)
            </label>
            <label className="check">
              <input type="radio" name="in_flight" checked={inFlight === 'keep'} onChange={() => setInFlight('keep')} />
              Keep them on their current version until they finish
            </label>
          </fieldset>
        </div>
      )}
    </Dialog>
  );
}
