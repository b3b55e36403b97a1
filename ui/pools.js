// pools.js - the Pools page: eta per dimension now (allocated and used),
// the pool's utilisation series over the last hour, day or week, and the
// capacity plan (hosts the pool needs by the pack LP vs hosts it runs).
import { all, call, get, qs } from './api.js';
import { h, num, pct, section, showError, table, val } from './dom.js';
import { etaPlot } from './plot.js';

const RANGES = { hour: 3600e3, day: 86400e3, week: 7 * 86400e3 };
const DIMS = [['vcpus', 'vCPU'], ['mem_mib', 'memory (MiB)'], ['disk_gib', 'disk (GiB)']];

function dimsTable(pool, u) {
  return table([
    { title: 'dimension', cell: (d) => d[1] },
    { title: 'total', num: true, cell: (d) => val(u.dimensions[d[0]].total, num(u.dimensions[d[0]].total)) },
    { title: 'usable', num: true, cell: (d) => val(u.dimensions[d[0]].usable, num(u.dimensions[d[0]].usable)) },
    { title: 'allocated', num: true, cell: (d) => val(u.dimensions[d[0]].allocated, num(u.dimensions[d[0]].allocated)) },
    { title: 'used', num: true, cell: (d) => val(u.dimensions[d[0]].used, num(u.dimensions[d[0]].used)) },
    { title: 'eta allocated', num: true, cell: (d) => val(u.dimensions[d[0]].eta_allocated, pct(u.dimensions[d[0]].eta_allocated)) },
    { title: 'eta used', num: true, cell: (d) => val(u.dimensions[d[0]].eta_used, pct(u.dimensions[d[0]].eta_used)) },
  ], DIMS, { class: 'dims', dataset: { pool } });
}

// The capacity plan: a dry run of the pack rebalance (the LP's view:
// fewest hosts that hold the pool's VMs). It is a POST (audited as
// pool.rebalance with dry_run), so it runs when asked.
function capacityPlan(pool) {
  const out = h('div', { class: 'capplan', dataset: { pool } });
  const btn = h('button', { type: 'button', class: 'capplan-run' }, 'Compute the capacity plan');
  btn.addEventListener('click', async () => {
    btn.disabled = true;
    out.replaceChildren(h('p', null, 'planning...'));
    try {
      const p = await call('POST', `/v1/pools/${encodeURIComponent(pool)}/rebalance`, { dry_run: true, policy: 'pack' });
      out.replaceChildren(h('p', { class: 'plan-hosts' },
        'hosts needed: ', h('strong', { class: 'needed' }, val(p.hosts_active_after, String(p.hosts_active_after))),
        ' of ', h('strong', { class: 'running' }, val(p.hosts_active_before, String(p.hosts_active_before))),
        ' running', p.hosts_active_before > p.hosts_active_after
          ? ` (${p.hosts_active_before - p.hosts_active_after} could be emptied by ${p.moves.length} moves)` : ''));
    } catch (e) {
      out.replaceChildren();
      showError(out, e);
    }
    btn.disabled = false;
  });
  return h('div', null, btn, out);
}

export async function render(page, params) {
  const range = RANGES[params.get('range')] ? params.get('range') : 'hour';
  page.append(h('h1', null, 'Pools'),
    h('p', { class: 'ranges' }, 'Plot the last ',
      Object.keys(RANGES).map((r) => h('a', { href: `#/pools?range=${r}`, class: r === range ? 'current' : null }, r)),
      '.'));
  const pools = await all('/v1/pools');
  if (pools.length === 0) page.append(h('p', null, 'No pools.'));
  const since = Date.now() - RANGES[range];
  for (const p of pools) {
    await section(page, `Pool ${p.name}`, async (box) => {
      box.classList.add('pool');
      box.dataset.pool = p.name;
      box.append(h('p', { class: 'meta' },
        `policy ${p.policy}, overcommit vCPU ${p.cpu_ratio}, memory ${p.mem_ratio}, disk ${p.disk_ratio}`));
      const u = await get(`/v1/pools/${encodeURIComponent(p.name)}/utilization${qs({ since })}`);
      box.append(h('p', null, 'hosts up: ', val(u.hosts, String(u.hosts))), dimsTable(p.name, u),
        etaPlot(u.series, `${p.name}: eta over the last ${range}`), capacityPlan(p.name));
    });
  }
}
