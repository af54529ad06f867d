// The first-run screen: starts the remembered mode, or lets the user choose
// one. The app's commands do the work; this page only shows and asks.
const invoke = window.__TAURI__.core.invoke;
const $ = (id) => document.getElementById(id);

function show(el, text) {
  el.textContent = text;
  el.hidden = !text;
}

function busy(text) {
  show($('status'), text);
  for (const b of document.querySelectorAll('button')) b.disabled = Boolean(text);
}

async function start(mode) {
  show($('error'), '');
  busy(mode.mode === 'attach' ? 'Attaching…' : 'Starting the engine…');
  try {
    // On success the window moves to the engine's UI.
    await invoke('start', { mode, remember: $('remember').checked });
  } catch (e) {
    busy('');
    show($('error'), String(e));
    $('choices').hidden = false;
  }
}

$('demo').onclick = () => start({ mode: 'local_demo' });
$('run').onclick = () => {
  const config = $('config').value.trim();
  if (!config) return show($('error'), 'Choose a config file first.');
  void start({ mode: 'local_run', config, live: $('live').checked });
};
$('attach').onclick = () =>
  start({ mode: 'attach', url: $('url').value.trim(), token: $('token').value.trim() });
$('pick').onclick = async () => {
  const picked = await invoke('plugin:dialog|open', {
    options: { multiple: false, directory: false, filters: [{ name: 'vspread config', extensions: ['toml'] }] },
  });
  if (typeof picked === 'string') $('config').value = picked;
};
$('settings').onclick = () => invoke('open_settings');

(async () => {
  const launch = await invoke('launch');
  $('demo-dir').textContent = launch.demo_dir;
  if (launch.settings_error) {
    show($('error'), `The settings file cannot be read (it is left as it is until you choose):\n${launch.settings_error}`);
  }
  if (launch.remembered && !launch.attached) {
    $('choices').hidden = true;
    await start(launch.remembered);
  } else {
    $('choices').hidden = false;
  }
})();
