// app.js - the dashboard's shell: the token, the pages (by the URL's
// #/page?query), and the role the token has (a tenant's token sees the
// Tenants and VMs and the tasks of its tenant only: the API decides).
import { ApiError, forgetToken, get, setToken, token } from './api.js';
import * as audit from './audit.js';
import { h, showError } from './dom.js';
import { destroyPlots } from './plot.js';
import * as hosts from './hosts.js';
import * as pools from './pools.js';
import * as rebalance from './rebalance.js';
import * as vms from './vms.js';

const PAGES = {
  pools: pools.render,
  hosts: hosts.render,
  tenants: vms.render,
  rebalance: rebalance.render,
  audit: audit.render,
};

let role = null;        // 'operator' (any role that reads the fleet) or 'tenant'
let leaving = [];       // what the shown page stops when it is left
let shown = 0;          // the render under way; an older one stops drawing

const $ = (id) => document.getElementById(id);

// What the token may read: the fleet (pools) or only its tenant. A 401
// means the token is not valid: back to the form, with the API's words.
async function probeRole() {
  try {
    await get('/v1/pools?limit=1');
    return 'operator';
  } catch (e) {
    if (e instanceof ApiError && e.status === 403) return 'tenant';
    throw e;
  }
}

function showLogin(err) {
  $('login').hidden = false;
  destroyPlots($('page'));
  $('page').replaceChildren();
  $('nav').hidden = true;
  $('signout').hidden = true;
  $('who').textContent = '';
  const le = $('login-error');
  le.hidden = !err;
  le.textContent = err ? err.message : '';
}

async function route() {
  const me = ++shown;
  for (const f of leaving) f();
  leaving = [];
  if (!token()) {
    showLogin(null);
    return;
  }
  if (role === null) {
    try {
      role = await probeRole();
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) forgetToken();
      showLogin(e);
      return;
    }
  }
  $('login').hidden = true;
  $('nav').hidden = false;
  $('signout').hidden = false;
  $('who').textContent = role === 'tenant' ? 'tenant token' : '';
  for (const a of document.querySelectorAll('#nav a'))
    a.hidden = role === 'tenant' && a.dataset.ops === '1';
  const hash = location.hash.replace(/^#\/?/, '') || (role === 'tenant' ? 'tenants' : 'pools');
  const [path, query] = hash.split('?');
  const params = new URLSearchParams(query || '');
  const [name, arg] = path.split('/');
  for (const a of document.querySelectorAll('#nav a'))
    a.classList.toggle('current', a.dataset.page === name || (name === 'host' && a.dataset.page === 'hosts'));
  const page = h('div', { id: 'page', dataset: { page: name, loading: '1' } });
  destroyPlots($('page'));
  $('page').replaceWith(page);
  const onLeave = (f) => (me === shown ? leaving.push(f) : f());
  try {
    if (name === 'host' && arg) await hosts.renderHost(page, params, decodeURIComponent(arg));
    else if (PAGES[name]) await PAGES[name](page, params, onLeave, role);
    else page.append(h('h1', null, 'Not found'), h('p', null, `The dashboard has no page '${name}'.`));
  } catch (e) {
    showError(page, e);
  }
  if (me === shown) page.dataset.loading = '';
  page.dataset.ready = '1';
}

$('login').addEventListener('submit', (ev) => {
  ev.preventDefault();
  setToken($('token').value.trim());
  $('token').value = '';
  role = null;
  route();
});
$('signout').addEventListener('click', () => {
  forgetToken();
  role = null;
  location.hash = '';
  route();
});
window.addEventListener('hashchange', route);
route();
