// Every canvas node type: one union, and the nodeTypes map React Flow needs (defined once at
// module level so React Flow never sees a new object and re-mounts the nodes). Each view is
// memoized: dragging one node of a 150-node journey re-renders that node, not all of them.
import type { NodeTypes } from '@xyflow/react';
import { memo } from 'react';

import type { NodeKind } from '../../lib/graph';
import { type BranchNode, BranchNodeView } from './branch-node';
import { type EventBranchNode, EventBranchNodeView } from './event-branch-node';
import { type ExitNode, ExitNodeView } from './exit-node';
import { type MessageNode, MessageNodeView } from './message-node';
import { type SplitNode, SplitNodeView } from './split-node';
import { type StartNode, StartNodeView } from './start-node';
import { type UpdateProfileNode, UpdateProfileNodeView } from './update-profile-node';
import { type WaitNode, WaitNodeView } from './wait-node';
import { type WebhookNode, WebhookNodeView } from './webhook-node';

export type JourneyNode =
  | StartNode
  | MessageNode
  | WebhookNode
  | WaitNode
  | BranchNode
  | EventBranchNode
  | SplitNode
  | UpdateProfileNode
  | ExitNode;

export const nodeTypes = {
  start: memo(StartNodeView),
  message: memo(MessageNodeView),
  webhook: memo(WebhookNodeView),
  wait: memo(WaitNodeView),
  branch: memo(BranchNodeView),
  event_branch: memo(EventBranchNodeView),
  split: memo(SplitNodeView),
  update_profile: memo(UpdateProfileNodeView),
  exit: memo(ExitNodeView),
} satisfies Record<NodeKind, NodeTypes[string]>;
