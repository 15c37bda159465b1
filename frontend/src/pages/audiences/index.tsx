// The Audiences section: customers (table and page), segments (builder), lists and CSV imports.
import { Route, Routes } from 'react-router';

import { NotFoundPage } from '../PlaceholderPages';
import CustomerPage from './CustomerPage';
import CustomersPage from './CustomersPage';
import ImportPage from './ImportPage';
import ListsPage from './ListsPage';
import SegmentBuilderPage from './SegmentBuilderPage';
import SegmentsPage from './SegmentsPage';
import './audiences.css';

export default function AudiencesSection() {
  return (
    <Routes>
      <Route index element={<CustomersPage />} />
      <Route path="customers/:externalId" element={<CustomerPage />} />
      <Route path="segments" element={<SegmentsPage />} />
      <Route path="segments/new" element={<SegmentBuilderPage />} />
      <Route path="segments/:id" element={<SegmentBuilderPage />} />
      <Route path="lists" element={<ListsPage />} />
      <Route path="import" element={<ImportPage />} />
      <Route path="*" element={<NotFoundPage />} />
    </Routes>
  );
}
