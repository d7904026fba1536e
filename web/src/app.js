// airgap's web UI: the login, the router and live updates. Navigation lives
// in the query string (?job=ID, ?view=agents), so the server serves one page
// at any path prefix and line links stay plain fragments (#L120).
import { api, session, watchChanges, ApiError } from './api.js';
import { agentsPage, jobPage, jobsPage, queuePage } from './pages.js';
import { h } from './util.js';

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const logout = document.getElementById('logout');
const live = document.getElementById('live');
let page = null, stopWatch = null, changeTimer = 0;

// ---- theme: the system's, or the one picked here (not a secret: localStorage)
const THEME_KEY = 'airgap.theme';
function applyTheme(t) {
  if (t) document.documentElement.dataset.theme = t;
  else delete document.documentElement.dataset.theme;
}
applyTheme(localStorage.getItem(THEME_KEY));
document.getElementById('theme').addEventListener('click', () => {
  const dark = document.documentElement.dataset.theme
    ? document.documentElement.dataset.theme === 'dark'
    : matchMedia('(prefers-color-scheme: dark)').matches;
  const t = dark ? 'light' : 'dark';
  localStorage.setItem(THEME_KEY, t);
  applyTheme(t);
});

// ---- login
function showLogin(message) {
  if (page) page.destroy();
  page = null;
  if (stopWatch) stopWatch();
  stopWatch = null;
  nav.hidden = true;
  logout.hidden = true;
  live.hidden = true;
  const input = h('input', { type: 'password', id: 'token', autocomplete: 'off', spellcheck: 'false',
    placeholder: 'airgap_…', 'aria-label': 'token', required: true });
  const err = h('p', { class: 'error', id: 'login-error', text: message || '' });
  const form = h('form', { class: 'login', id: 'login' },
    h('h1', {}, 'Sign in to airgap'),
    h('p', {}, 'Paste a client token (read and act) or a viewer token (read only): ',
      h('code', {}, 'airgap queue token create --role viewer'), '. It is kept in this tab only.'),
    input, err, h('button', { type: 'submit', class: 'primary' }, 'Sign in'));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    session.token = input.value.trim();
    try {
      await start();
    } catch (ex) {
      session.token = null;
      showLogin(ex instanceof ApiError && ex.status === 401 ? 'That token is not valid.' : ex.message);
    }
  });
  main.replaceChildren(form);
  input.focus();
}

session.onAuthLost = () => showLogin('Your token is no longer valid: sign in again.');

logout.addEventListener('click', () => {
  session.token = null;
  showLogin();
});

// ---- routing
function route() {
  if (page) page.destroy();
  const p = new URLSearchParams(location.search);
  const view = p.get('job') ? 'job' : p.get('view') || 'jobs';
  for (const a of nav.querySelectorAll('a')) a.classList.toggle('on', a.dataset.nav === view);
  if (view === 'job') page = jobPage(main, p.get('job'));
  else if (view === 'agents') page = agentsPage(main);
  else if (view === 'queue') page = queuePage(main);
  else page = jobsPage(main, p);
  document.title = `airgap · ${view === 'job' ? `job ${p.get('job')}` : view}`;
}

window.airgapNavigate = (href) => {
  history.pushState(null, '', href);
  route();
  window.scrollTo(0, 0);
};

document.addEventListener('click', (e) => {
  const a = e.target.closest('a[data-link], a[data-nav]');
  if (!a || e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
  e.preventDefault();
  window.airgapNavigate(a.getAttribute('href'));
});
window.addEventListener('popstate', () => { if (session.token) route(); });

// Live changes: refetch what the page shows, at most every 300 ms.
function onChange() {
  if (changeTimer) return;
  changeTimer = setTimeout(() => {
    changeTimer = 0;
    if (page) page.refresh();
  }, 300);
}

async function start() {
  const me = await api.whoami(); // 401 here: back to the login
  session.role = me.role;
  nav.hidden = false;
  logout.hidden = false;
  live.hidden = false;
  document.body.dataset.role = me.role;
  route();
  if (stopWatch) stopWatch();
  stopWatch = watchChanges(onChange, (up) => {
    live.classList.toggle('on', up);
    live.title = up ? 'live updates on' : 'live updates reconnecting';
  });
}

if (session.token) start().catch((e) => showLogin(e.message));
else showLogin();
