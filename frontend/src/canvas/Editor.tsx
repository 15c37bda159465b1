// The journey builder: it lays out the palette, the React Flow canvas and the side panels, and
// wires the hooks that each do one job: the graph and its history (useGraphHistory), edits on the
// canvas (useGraphEditing), autosave (useAutosave), the open panel (usePanels), problems
// (useProblems), live counts (useLiveCounts) and the status actions (useJourneyActions).
import { Background, Controls, MiniMap, Panel, ReactFlow, useNodesInitialized } from '@xyflow/react';
import { type KeyboardEvent, useCallback, useEffect, useMemo, useRef, useState } from 'react';

import { api, type Journey, ok } from '../api/client';
import { Button } from '../components/ui';
import { type ApiGraph, type FlowEdge, flowToGraph, graphToFlow } from '../lib/graph';
import { handleLabel, type NodeCatalog } from '../lib/node-types';
import { looksPacked } from '../lib/placement';
import type { Problem } from '../lib/rules';
import type { JourneySettings } from '../lib/settings';
import { canEdit, useSession } from '../session';
import { ConnectMenu } from './ConnectMenu';
import { CanvasContext, type CanvasInfo } from './context';
import { ConfirmAction, EditorBar } from './EditorBar';
import { NodePanel } from './NodePanel';
import { type JourneyNode, nodeAccessibleName, nodeTypeLabel, nodeTypesFor } from './nodes';
import { Palette } from './Palette';
import { ProblemsPanel, useProblems } from './ProblemsPanel';
import { PublishDialog } from './PublishDialog';
import { RoutedEdge } from './RoutedEdge';
import { SettingsDrawer } from './SettingsDrawer';
import { SimulatePanel } from './SimulatePanel';
import { useAutosave } from './useAutosave';
import { MIN_ZOOM, useGraphEditing } from './useGraphEditing';
import { useGraphHistory } from './useGraphHistory';
import { type Findings, type Notice, useJourneyActions } from './useJourneyActions';
import { useLiveCounts } from './useLiveCounts';
import { usePanels } from './usePanels';

// Drawing only the nodes in view pays off for very large journeys; below this the per-frame "what
// is in view" check during a pan buys nothing (a fitted 150-node journey is all in view anyway).
const VISIBLE_ONLY_FROM = 300;
const noop = () => undefined;
const edgeTypes = { routed: RoutedEdge };

// What a screen reader says about the canvas: how to work a focused step or connection.
const ARIA_LABELS = {
  'node.a11yDescription.default': 'Press Enter to open its settings, where its outputs are connected, or Delete to remove it.',
  'edge.a11yDescription.default': 'Press Enter to select this connection, then Delete to remove it.',
};

/** The step with this id, once it is drawn, focused without scrolling the canvas. */
function focusNodeSoon(id: string) {
  requestAnimationFrame(() => document.querySelector<HTMLElement>(`.react-flow__node[data-id="${CSS.escape(id)}"]`)?.focus({ preventScroll: true }));
}

/** Nodes and edges named for screen readers ("Email: Cart email", "Cart email (Next) to Wait").
 * A copy is kept per node or edge object until it or its name changes, so React Flow redraws
 * only what changed. */
function useAccessibleNames(nodes: JourneyNode[], edges: FlowEdge[], catalog: NodeCatalog, problems: Map<string | null, Problem[]>) {
  const nodeCopies = useRef(new WeakMap<JourneyNode, JourneyNode>());
  const edgeCopies = useRef(new WeakMap<FlowEdge, FlowEdge>());
  const named = useMemo(
    () =>
      nodes.map((n) => {
        const count = problems.get(n.id)?.length ?? 0;
        const label = nodeAccessibleName(catalog, n) + (count ? `, ${count} problem${count === 1 ? '' : 's'}` : '');
        const kept = nodeCopies.current.get(n);
        if (kept?.ariaLabel === label) return kept;
        const copy = { ...n, ariaLabel: label };
        nodeCopies.current.set(n, copy);
        return copy;
      }),
    [nodes, catalog, problems],
  );
  const namedEdges = useMemo(() => {
    const byId = new Map(nodes.map((n) => [n.id, n]));
    const nameOf = (n: JourneyNode | undefined) => (n ? n.data.name?.trim() || nodeTypeLabel(catalog, n.type, n.data.config) : '?');
    return edges.map((e) => {
      const source = byId.get(e.source);
      const output = source ? handleLabel(catalog.get(source.type), source.data.config, e.sourceHandle ?? '', source.data.handle_labels) : '';
      const label = `${nameOf(source)} (${output}) to ${nameOf(byId.get(e.target))}`;
      const kept = edgeCopies.current.get(e);
      if (kept?.ariaLabel === label) return kept;
      const copy = { ...e, ariaLabel: label };
      edgeCopies.current.set(e, copy);
      return copy;
    });
  }, [nodes, edges, catalog]);
  return { nodes: named, edges: namedEdges };
}

/** Validate's notice, in words that follow the problems on screen now (fixing them updates it). */
function validationNotice(problems: number, warnings: number): Notice {
  if (problems) return { tone: 'error', text: `${problems} problem${problems === 1 ? '' : 's'} to fix.`, validation: true };
  const worth = warnings ? ` ${warnings} warning${warnings === 1 ? '' : 's'} worth a look.` : '';
  return { tone: warnings ? 'info' : 'success', text: `The journey is valid and ready to start.${worth}`, validation: true };
}

/** After a problem is picked and its node's panel opens: focus the field that shows its message. */
function focusFieldSoon(message: string) {
  let tries = 0;
  const look = () => {
    const panel = document.querySelector('[data-testid="node-panel"]');
    const error = [...(panel?.querySelectorAll('.field-error') ?? [])].find((e) => e.textContent === message);
    const input = error?.closest('.field')?.querySelector<HTMLElement>('input, textarea, select, [contenteditable="true"]');
    if (input) {
      input.scrollIntoView({ block: 'center' });
      input.focus();
    } else if (tries++ < 10) setTimeout(look, 50);
  };
  setTimeout(look, 0);
}

export function Editor({ initial, catalog }: { initial: Journey; catalog: NodeCatalog }) {
  const { workspace } = useSession();
  const start = useMemo(() => graphToFlow(initial.graph as unknown as ApiGraph, catalog), [initial, catalog]);
  const nodeTypes = useMemo(() => nodeTypesFor(catalog), [catalog]);
  const [meta, setMeta] = useState<Journey>(initial);
  const [name, setName] = useState(initial.name);
  const [settings, setSettings] = useState<JourneySettings>((initial.settings ?? {}) as JourneySettings);
  const [path, setPath] = useState<Set<string> | null>(null);
  const readOnly = !canEdit(workspace) || meta.status === 'stopped' || meta.status === 'archived';

  const graph = useGraphHistory(start, noop);
  const { nodes, edges, nodesRef } = graph;
  const draft = useMemo(() => JSON.stringify({ name, graph: flowToGraph(nodes, edges, catalog), settings }), [name, nodes, edges, catalog, settings]);
  const draftRef = useRef(draft);
  draftRef.current = draft;
  // The server's answer holds only while the draft on screen is the one it checked.
  const check = useProblems(nodes, edges, catalog, draft);
  const { setServer, setShowProblems } = check;
  const panels = usePanels();
  const wrapper = useRef<HTMLDivElement>(null);
  const edit = useGraphEditing({ graph, panels, catalog, readOnly, wrapper });

  // Once the stored journey is drawn (its nodes measured): arranged if it came packed (a template,
  // or a graph sent with rough positions), then fitted clear of the toolbar and minimap.
  const drawn = useNodesInitialized();
  const opened = useRef(false);
  const { arrange, fit, reveal } = edit;
  useEffect(() => {
    if (opened.current || !(drawn || nodes.length > VISIBLE_ONLY_FROM)) return;
    opened.current = true;
    if (start.nodes.length === 0) return;
    if (looksPacked(graph.nodesRef.current, graph.edgesRef.current)) void arrange();
    else fit();
  }, [drawn, nodes.length, start.nodes.length, arrange, fit, graph.nodesRef, graph.edgesRef]);
  // The panel that opens beside the canvas narrows it: keep its node in view (one dropped near the
  // right edge would otherwise sit under the panel).
  const selectedId = panels.selectedId;
  useEffect(() => {
    if (!selectedId) return;
    const frame = requestAnimationFrame(() => reveal(selectedId));
    return () => cancelAnimationFrame(frame);
  }, [selectedId, reveal]);

  // Every saved draft is checked by the server (what only it knows: a channel not set up, a
  // segment gone), so the problems on screen are never a stale Validate's.
  const recheck = useCallback(
    (text: string) => {
      ok(api.POST('/api/v1/journeys/{id}/validate', { params: { path: { id: String(initial.id) } } }))
        .then((r) => setServer({ errors: r.errors, warnings: r.warnings, draft: text }))
        .catch(() => undefined); // the hints stay on screen
    },
    [initial.id, setServer],
  );
  const onSaved = useCallback(
    (journey: Journey, text: string) => {
      setMeta(journey);
      recheck(text);
    },
    [recheck],
  );
  const saved = () => JSON.stringify({ name: initial.name, graph: flowToGraph(start.nodes, start.edges, catalog), settings: initial.settings ?? {} });
  const { saveState, saveError, saveNow } = useAutosave({ journeyId: initial.id, draft, saved, readOnly, onSaved });
  // The stored draft, as opened.
  useEffect(() => recheck(draftRef.current), [recheck]);

  const onProblems = useCallback(
    (findings: Findings | null, show: boolean) => {
      if (findings) setServer({ ...findings, draft: draftRef.current });
      setShowProblems(show);
    },
    [setServer, setShowProblems],
  );
  const actions = useJourneyActions({ journeyId: initial.id, status: meta.status, saveNow, onChanged: setMeta, onProblems });
  const live = useLiveCounts(initial.id, meta.version != null);

  const info: CanvasInfo = useMemo(
    () => ({ catalog, problems: check.problems, counts: live.counts, path, settings, setSettings: readOnly ? null : setSettings, live: live.mode, renameHandle: readOnly ? null : edit.renameHandle }),
    [catalog, check.problems, live.counts, live.mode, path, settings, readOnly, edit.renameHandle],
  );

  const named = useAccessibleNames(nodes, edges, catalog, check.problems);
  // The keyboard on a focused step: Enter opens its settings (focus goes to them), Delete removes
  // it (a selected one React Flow removes itself, with the rest of the selection).
  const onCanvasKey = (e: KeyboardEvent<HTMLDivElement>) => {
    const at = e.target as HTMLElement;
    const id = at.classList.contains('react-flow__node') ? at.dataset.id : undefined;
    if (!id) return;
    if (e.key === 'Enter') {
      e.preventDefault();
      panels.openNode(id);
      requestAnimationFrame(() => document.querySelector<HTMLElement>('[data-testid="node-panel"] .side-body :is(input, select, textarea)')?.focus());
    } else if ((e.key === 'Delete' || e.key === 'Backspace') && !readOnly && !nodesRef.current.find((n) => n.id === id)?.selected) {
      e.preventDefault();
      e.stopPropagation();
      const next = [at.nextElementSibling, at.previousElementSibling].find((el): el is HTMLElement => el instanceof HTMLElement && el.classList.contains('react-flow__node'));
      edit.deleteNode(id);
      if (next?.dataset.id) focusNodeSoon(next.dataset.id);
    }
  };

  const selected = panels.selectedId ? nodes.find((n) => n.id === panels.selectedId) : undefined;
  const nodeName = useCallback((id: string) => nodesRef.current.find((n) => n.id === id)?.data.name || id, [nodesRef]);
  const focusProblem = (p: Problem) => {
    if (p.node_id) {
      edit.focusNode(p.node_id);
      focusFieldSoon(p.message);
    } else if (p.field.startsWith('settings')) panels.openSettings();
  };
  const problemList = check.problemList;
  const notice = actions.notice?.validation ? validationNotice(problemList.length, check.warningList.length) : actions.notice;

  return (
    <div className="editor">
      <EditorBar
        journey={meta}
        name={name}
        onName={setName}
        readOnly={readOnly}
        save={{ state: saveState, error: saveError, retry: () => saveNow().catch(() => undefined) }}
        live={live.counts ? live.mode : null}
        busy={actions.busy}
        onToggle={panels.toggle}
        onValidate={actions.validate}
        onAsk={actions.setConfirm}
        onPublish={() => actions.setPublishOpen(true)}
      />
      {notice && (
        <div className={`banner banner-${notice.tone}`} role={notice.tone === 'error' ? 'alert' : 'status'}>
          <span>{notice.text}</span>
          {(problemList.length > 0 || check.warningList.length > 0) && notice.tone !== 'success' && (
            <button type="button" className="link-btn" onClick={() => check.setShowProblems(true)}>
              Show problems
            </button>
          )}
          <button type="button" className="icon-btn" aria-label="Dismiss" onClick={() => actions.setNotice(null)}>
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
        <Palette catalog={catalog} onAdd={edit.addFromPalette} disabled={readOnly} hasStart={nodes.some((n) => n.type === 'start')} />
        <div className="canvas" ref={wrapper} onDrop={edit.onDrop} onDragOver={edit.onDragOver} onKeyDown={onCanvasKey} data-testid="canvas">
          <CanvasContext.Provider value={info}>
            <ReactFlow<JourneyNode, FlowEdge>
              nodes={named.nodes}
              edges={named.edges}
              nodeTypes={nodeTypes}
              ariaLabelConfig={ARIA_LABELS}
              onNodesChange={edit.onNodesChange}
              onEdgesChange={edit.onEdgesChange}
              onConnect={edit.onConnect}
              isValidConnection={edit.isValidConnection}
              onNodeClick={(_, n) => panels.openNode(n.id)}
              onPaneClick={() => panels.closeNode()}
              nodesDraggable={!readOnly}
              nodesConnectable={!readOnly}
              deleteKeyCode={readOnly ? null : ['Backspace', 'Delete']}
              edgeTypes={edgeTypes}
              defaultEdgeOptions={{ type: 'routed' }}
              onlyRenderVisibleElements={nodes.length > VISIBLE_ONLY_FROM}
              minZoom={MIN_ZOOM}
              proOptions={{ hideAttribution: true }}
            >
              <Background gap={20} />
              <Controls position="bottom-left" />
              <MiniMap pannable zoomable position="bottom-right" nodeStrokeWidth={3} />
              <Panel position="top-left" className="canvas-tools">
                <Button size="sm" onClick={edit.arrange} disabled={readOnly || nodes.length === 0}>
                  Auto arrange
                </Button>
                <Button size="sm" onClick={graph.undo} disabled={readOnly || !graph.canUndo} aria-label="Undo" title="Undo (Ctrl+Z)">
                  ↶ Undo
                </Button>
                <Button size="sm" onClick={graph.redo} disabled={readOnly || !graph.canRedo} aria-label="Redo" title="Redo (Ctrl+Shift+Z)">
                  ↷ Redo
                </Button>
                <Button size="sm" onClick={() => check.setShowProblems(!check.showProblems)} aria-expanded={check.showProblems} className={problemList.length ? 'has-problems' : ''}>
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
          {check.showProblems && (
            <ProblemsPanel
              problems={problemList}
              warnings={check.warningList}
              fromServer={check.fromServer}
              nodes={nodes}
              catalog={catalog}
              nodeName={nodeName}
              onPick={focusProblem}
              onClose={() => check.setShowProblems(false)}
            />
          )}
        </div>
        <CanvasContext.Provider value={info}>
          {selected && (
            <NodePanel
              key={selected.id}
              id={selected.id}
              kind={selected.type}
              data={selected.data}
              journeyId={initial.id}
              readOnly={readOnly}
              onChange={(d) => edit.updateNode(selected.id, d)}
              onDelete={() => edit.deleteNode(selected.id)}
              onClose={() => {
                panels.close();
                focusNodeSoon(selected.id);
              }}
              onOpenSettings={panels.openSettings}
            >
              {!readOnly && (
                <ConnectMenu
                  node={selected}
                  nodes={nodes}
                  edges={edges}
                  catalog={catalog}
                  onConnect={(handle, target) => edit.onConnect({ source: selected.id, sourceHandle: handle, target, targetHandle: null })}
                  onDisconnect={(handle) => edit.disconnect(selected.id, handle)}
                />
              )}
            </NodePanel>
          )}
        </CanvasContext.Provider>
        {panels.panel?.kind === 'settings' && (
          <SettingsDrawer
            settings={settings}
            problems={problemList.filter((p) => p.node_id === null)}
            readOnly={readOnly}
            onClose={panels.close}
            onChange={setSettings}
          />
        )}
        {panels.panel?.kind === 'simulate' && (
          <SimulatePanel journeyId={initial.id} nodeName={nodeName} beforeRun={saveNow} onPath={setPath} onClose={panels.close} />
        )}
      </div>
      {actions.confirm && <ConfirmAction action={actions.confirm} onCancel={() => actions.setConfirm(null)} onConfirm={() => actions.act(actions.confirm!)} />}
      {actions.publishOpen && (
        <PublishDialog
          journeyId={initial.id}
          beforeLoad={saveNow}
          nodeName={nodeName}
          nodes={nodes}
          catalog={catalog}
          onCancel={() => actions.setPublishOpen(false)}
          onPublish={(inFlight) => actions.act('start', inFlight)}
        />
      )}
    </div>
  );
}
