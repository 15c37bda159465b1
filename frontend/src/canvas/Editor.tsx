// The journey builder: it lays out the palette, the React Flow canvas and the side panels, and
// wires the hooks that each do one job: the graph and its history (useGraphHistory), edits on the
// canvas (useGraphEditing), autosave (useAutosave), the open panel (usePanels), problems
// (useProblems), live counts (useLiveCounts) and the status actions (useJourneyActions).
import { Background, Controls, MiniMap, Panel, ReactFlow } from '@xyflow/react';
import { useCallback, useMemo, useRef, useState } from 'react';

import type { Journey } from '../api/client';
import { Button } from '../components/ui';
import { type ApiGraph, type FlowEdge, flowToGraph, graphToFlow } from '../lib/graph';
import type { NodeCatalog } from '../lib/node-types';
import type { Problem } from '../lib/rules';
import type { JourneySettings } from '../lib/settings';
import { canEdit, useSession } from '../session';
import { CanvasContext, type CanvasInfo } from './context';
import { ConfirmAction, EditorBar } from './EditorBar';
import { NodePanel } from './NodePanel';
import { type JourneyNode, nodeTypesFor } from './nodes';
import { Palette } from './Palette';
import { ProblemsPanel, useProblems } from './ProblemsPanel';
import { PublishDialog } from './PublishDialog';
import { SettingsDrawer } from './SettingsDrawer';
import { SimulatePanel } from './SimulatePanel';
import { useAutosave } from './useAutosave';
import { useGraphEditing } from './useGraphEditing';
import { useGraphHistory } from './useGraphHistory';
import { useJourneyActions } from './useJourneyActions';
import { useLiveCounts } from './useLiveCounts';
import { usePanels } from './usePanels';

// Drawing only the nodes in view pays off for very large journeys; below this the per-frame "what
// is in view" check during a pan buys nothing (a fitted 150-node journey is all in view anyway).
const VISIBLE_ONLY_FROM = 300;

export function Editor({ initial, catalog }: { initial: Journey; catalog: NodeCatalog }) {
  const { workspace } = useSession();
  const start = useMemo(() => graphToFlow(initial.graph as unknown as ApiGraph, catalog), [initial, catalog]);
  const nodeTypes = useMemo(() => nodeTypesFor(catalog), [catalog]);
  const [meta, setMeta] = useState<Journey>(initial);
  const [name, setName] = useState(initial.name);
  const [settings, setSettings] = useState<JourneySettings>((initial.settings ?? {}) as JourneySettings);
  const [path, setPath] = useState<Set<string> | null>(null);
  const readOnly = !canEdit(workspace) || meta.status === 'stopped' || meta.status === 'archived';

  // An edit, undo or redo makes the last Validate's answer stale.
  const graph = useGraphHistory(start, () => check.setServerProblems(null));
  const { nodes, edges, nodesRef } = graph;
  const check = useProblems(nodes, edges, catalog);
  const panels = usePanels();
  const wrapper = useRef<HTMLDivElement>(null);
  const edit = useGraphEditing({ graph, panels, catalog, readOnly, wrapper });

  const draft = useMemo(() => JSON.stringify({ name, graph: flowToGraph(nodes, edges, catalog), settings }), [name, nodes, edges, catalog, settings]);
  const saved = () => JSON.stringify({ name: initial.name, graph: flowToGraph(start.nodes, start.edges, catalog), settings: initial.settings ?? {} });
  const { saveState, saveError, saveNow } = useAutosave({ journeyId: initial.id, draft, saved, readOnly, onSaved: setMeta });

  const onProblems = useCallback(
    (problems: Problem[] | null, show: boolean) => {
      check.setServerProblems(problems);
      if (problems) check.setShowProblems(show);
    },
    [check],
  );
  const actions = useJourneyActions({ journeyId: initial.id, status: meta.status, saveNow, onChanged: setMeta, onProblems });
  const live = useLiveCounts(initial.id, meta.version != null);

  const info: CanvasInfo = useMemo(
    () => ({ catalog, problems: check.problems, counts: live.counts, path, settings, live: live.mode, renameHandle: readOnly ? null : edit.renameHandle }),
    [catalog, check.problems, live.counts, live.mode, path, settings, readOnly, edit.renameHandle],
  );

  const selected = panels.selectedId ? nodes.find((n) => n.id === panels.selectedId) : undefined;
  const nodeName = useCallback((id: string) => nodesRef.current.find((n) => n.id === id)?.data.name || id, [nodesRef]);
  const focusProblem = (p: Problem) => {
    if (p.node_id) edit.focusNode(p.node_id);
    else if (p.field.startsWith('settings')) panels.openSettings();
  };
  const notice = actions.notice;
  const problemList = check.problemList;

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
          {problemList.length > 0 && notice.tone === 'error' && (
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
        <Palette catalog={catalog} onAdd={edit.addAtCenter} disabled={readOnly} hasStart={nodes.some((n) => n.type === 'start')} />
        <div className="canvas" ref={wrapper} onDrop={edit.onDrop} onDragOver={edit.onDragOver} data-testid="canvas">
          <CanvasContext.Provider value={info}>
            <ReactFlow<JourneyNode, FlowEdge>
              nodes={nodes}
              edges={edges}
              nodeTypes={nodeTypes}
              onNodesChange={edit.onNodesChange}
              onEdgesChange={edit.onEdgesChange}
              onConnect={edit.onConnect}
              isValidConnection={edit.isValidConnection}
              onNodeClick={(_, n) => panels.openNode(n.id)}
              onPaneClick={() => panels.closeNode()}
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
            <ProblemsPanel problems={problemList} fromServer={check.fromServer} nodeName={nodeName} onPick={focusProblem} onClose={() => check.setShowProblems(false)} />
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
              onClose={panels.close}
              onOpenSettings={panels.openSettings}
            />
          )}
        </CanvasContext.Provider>
        {panels.panel?.kind === 'settings' && (
          <SettingsDrawer
            settings={settings}
            problems={problemList.filter((p) => p.node_id === null)}
            readOnly={readOnly}
            onClose={panels.close}
            onChange={(s) => {
              setSettings(s);
              check.setServerProblems(null);
            }}
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
          onCancel={() => actions.setPublishOpen(false)}
          onPublish={(inFlight) => actions.act('start', inFlight)}
        />
      )}
    </div>
  );
}
