import { mount } from 'svelte';
import App from './App.svelte';
import { startDesktop } from './lib/desktop/desktop.svelte';
import './app.css';

const target = document.getElementById('app');
if (!target) throw new Error('index.html has no #app element');

// Inside the desktop app, sign in with its token before the first render.
export default startDesktop()
  .catch(() => false)
  .then(() => mount(App, { target }));
