// The exit: the customer completes the journey here.
import type { NodeUi } from './node-ui';

export const ui: NodeUi = {
  type: 'exit',
  Summary: () => <>The journey completes here</>,
  Form: () => <p className="muted">Customers who reach this node complete the journey.</p>,
};
