// The app's settings: notification switches (saved on every change), the
// remembered mode, and the record of notifications sent.
const invoke = window.__TAURI__.core.invoke;
const $ = (id) => document.getElementById(id);
const KINDS = ['gateway', 'order_filled', 'position_closed', 'daily_loss', 'kill_switch', 'apply'];

function fail(e) {
  $('error').textContent = String(e);
  $('error').hidden = false;
}

async function load() {
  const settings = await invoke('get_settings');
  for (const k of KINDS) $(k).checked = settings.notifications[k];
  const m = settings.mode;
  $('mode').textContent = !m
    ? 'None remembered: the first-run screen asks.'
    : m.mode === 'local_demo'
      ? 'Local demo'
      : m.mode === 'local_run'
        ? `Local, config ${m.config}${m.live ? ' (live)' : ''}`
        : `Attach to ${m.url}`;
  const sent = await invoke('notifications_sent');
  $('sent').replaceChildren(
    ...sent.map((n) => {
      const li = document.createElement('li');
      li.textContent = `${n.title}: ${n.body}`;
      return li;
    }),
  );
}

$('switches').onchange = async () => {
  const switches = Object.fromEntries(KINDS.map((k) => [k, $(k).checked]));
  try {
    await invoke('save_notification_switches', { switches });
    $('saved').firstElementChild.textContent = 'Saved.';
  } catch (e) {
    fail(e);
  }
};
$('forget').onclick = () => invoke('forget_mode').then(load, fail);
$('quit').onclick = () => invoke('quit');
load().catch(fail);
