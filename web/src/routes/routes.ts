// The app's views. Each has a path prefix and a component; the navigation is
// built from this table.
import type { Component } from 'svelte';
import ConfigPage from './config/ConfigPage.svelte';
import DashboardPage from './dashboard/DashboardPage.svelte';
import DecisionsPage from './decisions/DecisionsPage.svelte';
import OrdersPage from './orders/OrdersPage.svelte';
import PositionsPage from './positions/PositionsPage.svelte';
import ScannerPage from './scanner/ScannerPage.svelte';

export interface View {
  /** First path segment ('' for the root). */
  segment: string;
  label: string;
  component: Component;
}

export const VIEWS: readonly View[] = [
  { segment: '', label: 'Dashboard', component: DashboardPage },
  { segment: 'scanner', label: 'Scanner', component: ScannerPage },
  { segment: 'positions', label: 'Positions', component: PositionsPage },
  { segment: 'orders', label: 'Orders', component: OrdersPage },
  { segment: 'decisions', label: 'Decisions', component: DecisionsPage },
  { segment: 'config', label: 'Configuration', component: ConfigPage },
];

export function viewOf(segments: string[]): View | undefined {
  const first = segments[0] ?? '';
  return VIEWS.find((v) => v.segment === first);
}
