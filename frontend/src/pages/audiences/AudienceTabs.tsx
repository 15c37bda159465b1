// The sub-navigation shared by the Audiences pages.
import { NavLink } from 'react-router';

const TABS = [
  { to: '/audiences', label: 'Customers', end: true },
  { to: '/audiences/segments', label: 'Segments' },
  { to: '/audiences/lists', label: 'Lists' },
  { to: '/audiences/import', label: 'Import CSV' },
];

export function AudienceTabs() {
  return (
    <nav className="tabs" aria-label="Audiences">
      {TABS.map((t) => (
        <NavLink key={t.to} to={t.to} end={t.end} className={({ isActive }) => (isActive ? 'active' : '')}>
          {t.label}
        </NavLink>
      ))}
    </nav>
  );
}
