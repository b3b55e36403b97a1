// hosts.js - the Hosts page (a paged table: state, maintenance, status,
// utilisation bars per dimension, VM count, a drain behind a
// confirmation) and a host's page (its figures, its VMs, and its stored
// utilisation series over the last hour, day or week).
import { all, call, get, page as apiPage, qs } from './api.js';
import { bar, confirmAction, h, noticeBox, num, pager, section, table, val, when } from './dom.js';
import { etaPlot } from './plot.js';
import { vmTable } from './vms.js';

const DIMS = [['vcpus', 'vCPU'], ['mem_mib', 'MiB'], ['disk_gib', 'GiB']];
const RANGES = { hour: 3600e3, day: 86400e3, week: 7 * 86400e3 };
const hostLink = (name) => h('a', { href: `#/host/${encodeURIComponent(name)}`, class: 'host' }, name);

function statusCell(x) {
  if (x.status === 'degraded')
    return h('span', { class: 'bad', title: x.degraded_reason }, 'degraded: ', x.degraded_reason);
  return h('span', { class: 'ok' }, x.status);
}

function utilBars(x) {
  return h('span', { class: 'bars' }, DIMS.map(([d, unit]) =>
    bar(x.allocated[d], x[d], `${num(x.allocated[d])} / ${num(x[d])} ${unit}`)));
}

// Drain: maintenance, then a task that live-migrates its VMs away.
function drainButton(x, done) {
  if (x.maintenance) return null;
  const b = h('button', { type: 'button', class: 'drain', dataset: { host: x.name } }, 'Drain');
  b.addEventListener('click', async () => {
    const yes = await confirmAction(`Drain host ${x.name}?`,
      `Host ${x.name} goes into maintenance (no new VMs) and its ${x.vm_count} VMs are live-migrated to other hosts of pool ${x.pool}.`);
    if (!yes) return;
    b.disabled = true;
    try {
      const t = await call('POST', `/v1/hosts/${encodeURIComponent(x.name)}/drain`, {});
      done(h('p', { class: 'notice' }, `drain of ${x.name} started as task `,
        h('a', { href: '#/rebalance' }, t.id)));
    } catch (e) {
      b.disabled = false;
      done(null, e);
    }
  });
  return b;
}

function hostTable(items, notice) {
  return table([
    { title: 'host', cell: (x) => hostLink(x.name) },
    { title: 'pool', cell: (x) => x.pool },
    { title: 'state', cell: (x) => h('span', { class: x.state === 'up' ? 'ok' : 'bad' }, x.state) },
    { title: 'maintenance', cell: (x) => (x.maintenance ? 'yes' : 'no') },
    { title: 'status', cell: statusCell },
    { title: 'allocated: vCPU, memory, disk', cell: utilBars },
    { title: 'VMs', num: true, cell: (x) => val(x.vm_count, String(x.vm_count)) },
    { title: '', cell: (x) => drainButton(x, notice) },
  ], items, { class: 'hosts' });
}

export async function render(page, params) {
  const pool = params.get('pool') || '';
  const state = params.get('state') || '';
  const pools = await all('/v1/pools');
  const pick = (name, value, options) => h('select', { name, 'aria-label': name },
    options.map(([v, t]) => h('option', { value: v, selected: v === value }, t)));
  const poolSel = pick('pool', pool, [['', 'every pool'], ...pools.map((p) => [p.name, p.name])]);
  const stateSel = pick('state', state, [['', 'every state'], ['up', 'up'], ['down', 'down'], ['maintenance', 'maintenance']]);
  const go = () => { location.hash = '#/hosts' + qs({ pool: poolSel.value, state: stateSel.value }); };
  poolSel.addEventListener('change', go);
  stateSel.addEventListener('change', go);
  const [notices, notice] = noticeBox();
  const p = pager((after, limit) => apiPage('/v1/hosts', { pool, state }, after, limit),
    (items) => hostTable(items, notice));
  page.append(h('h1', null, 'Hosts'), h('p', { class: 'filters' }, poolSel, ' ', stateSel), notices, p);
  await p.ready;
}

export async function renderHost(page, params, name) {
  const path = `/v1/hosts/${encodeURIComponent(name)}`;
  const x = await get(path);
  const [notices, notice] = noticeBox();
  page.append(h('h1', null, `Host ${x.name}`), notices);
  const dl = h('dl', { class: 'facts', dataset: { host: x.name } });
  for (const [k, v] of [['pool', x.pool], ['state', x.state], ['maintenance', x.maintenance ? 'yes' : 'no'],
    ['status', statusCell(x)], ['vCPU', num(x.vcpus)], ['memory', `${num(x.mem_mib)} MiB (${num(x.mem_free_mib)} free)`],
    ['disk', `${num(x.disk_gib)} GiB (${num(x.disk_free_gib)} free)`], ['CPU model', x.cpu_model],
    ['virtualisation', x.virt_type], ['libvirt', x.libvirt_version], ['availability', String(x.availability)],
    ['VMs', val(x.vm_count, String(x.vm_count))], ['last heartbeat', when(x.last_seen_ms)],
    ['registration', x.registration], ['allocated', utilBars(x)]])
    dl.append(h('dt', null, k), h('dd', null, v));
  page.append(dl, h('p', null, drainButton(x, notice)));
  const range = RANGES[params.get('range')] ? params.get('range') : 'hour';
  await section(page, 'Utilisation', async (box) => {
    const since = Date.now() - RANGES[range];
    const u = await get(`${path}/utilization${qs({ since })}`);
    box.append(h('p', { class: 'ranges' }, 'Plot the last ',
      Object.keys(RANGES).map((r) => h('a', { href: `#/host/${encodeURIComponent(name)}?range=${r}`, class: r === range ? 'current' : null }, r)),
      '.'));
    if (u.series.length === 0)
      box.append(h('p', { class: 'notice' }, `No stored samples of ${x.name} in the last ${range}: `,
        'the controller samples a host while it is up.'));
    box.append(etaPlot(u.series, `${x.name}: eta over the last ${range}`));
  });
  await section(page, 'VMs', async (box) => {
    const p = pager((after, limit) => apiPage('/v1/vms', { host: name }, after, limit), (items) => vmTable(items, null));
    box.append(p);
    await p.ready;
  });
}
