// The configuration view's tabs and which top-level sections each shows.

export interface Tab {
  id: string;
  label: string;
  sections: string[];
}

export const TABS: readonly Tab[] = [
  { id: 'trading', label: 'Trading', sections: ['trading'] },
  { id: 'risk', label: 'Risk', sections: ['risk'] },
  { id: 'strategies', label: 'Strategies', sections: ['strategies'] },
  { id: 'scanner', label: 'Scanner', sections: ['scanner'] },
  { id: 'execution', label: 'Execution', sections: ['execution'] },
  { id: 'exits', label: 'Exits', sections: ['exits'] },
  { id: 'schedule', label: 'Schedule', sections: ['trading_schedule'] },
  { id: 'notify', label: 'Notifications', sections: ['notify'] },
  { id: 'system', label: 'System', sections: ['ibkr', 'market_data', 'pacing', 'server', 'storage', 'logging'] },
];

/** The tab that shows the key `path`; keys of sections no tab names fall into System. */
export function tabOf(path: string): Tab {
  const section = path.split('.')[0] ?? '';
  return TABS.find((t) => t.sections.includes(section)) ?? (TABS[TABS.length - 1] as Tab);
}

/** Top-level sections of a schema's properties that no tab names. */
export function unplacedSections(sections: string[]): string[] {
  return sections.filter((s) => !TABS.some((t) => t.sections.includes(s)));
}
