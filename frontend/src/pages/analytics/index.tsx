// The Analytics section: the cross-journey overview and each journey's dashboard.
import { Route, Routes } from 'react-router';

import { NotFoundPage } from '../PlaceholderPages';
import AnalyticsOverviewPage from './AnalyticsOverviewPage';
import JourneyDashboardPage from './JourneyDashboardPage';

export default function AnalyticsSection() {
  return (
    <Routes>
      <Route index element={<AnalyticsOverviewPage />} />
      <Route path="journeys/:id" element={<JourneyDashboardPage />} />
      <Route path="*" element={<NotFoundPage />} />
    </Routes>
  );
}
