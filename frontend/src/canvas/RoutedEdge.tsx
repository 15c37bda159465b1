// The canvas's edge: a smooth step like React Flow's, turning across halfway down, or just under
// its output or just over its input when halfway would run it through another step (a long edge
// past a layer of nodes, as Auto arrange leaves them).
import { BaseEdge, type Edge, type EdgeProps, getSmoothStepPath, type ReactFlowState, useStore } from '@xyflow/react';
import { memo, useMemo } from 'react';

import { boxOf, clearStep } from '../lib/placement';

const nodesOf = (s: ReactFlowState) => s.nodes;

export const RoutedEdge = memo(function RoutedEdge(p: EdgeProps<Edge>) {
  const nodes = useStore(nodesOf);
  const { source, target, sourceX, sourceY, targetX, targetY } = p;
  const step = useMemo(() => {
    const others = nodes.filter((n) => n.id !== source && n.id !== target).map(boxOf);
    return clearStep({ x: sourceX, y: sourceY }, { x: targetX, y: targetY }, others) ?? 0.5;
  }, [nodes, source, target, sourceX, sourceY, targetX, targetY]);
  const [path] = getSmoothStepPath({
    sourceX,
    sourceY,
    sourcePosition: p.sourcePosition,
    targetX,
    targetY,
    targetPosition: p.targetPosition,
    stepPosition: step,
  });
  return <BaseEdge id={p.id} path={path} markerEnd={p.markerEnd} markerStart={p.markerStart} style={p.style} interactionWidth={p.interactionWidth} />;
});
