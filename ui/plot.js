// plot.js - eta over time with uPlot (a canvas: thousands of points stay
// fast). The number of points drawn is kept in the box's data-points.
import uPlot from './uplot.esm.js';

const DIMS = [
  ['vcpus', 'vCPU', '#1d4f91'],
  ['mem_mib', 'memory', '#b5651d'],
  ['disk_gib', 'disk', '#2e7d32'],
];

// uPlot's columns of points: times in seconds, then each series.
function columns(points) {
  const data = [points.map((p) => p.time_ms / 1000)];
  for (const kind of ['eta_allocated', 'eta_used'])
    for (const [dim] of DIMS)
      data.push(points.map((p) => (p[kind] && p[kind][dim] !== undefined ? p[kind][dim] : null)));
  return data;
}

// points: [{time_ms, eta_allocated: {vcpus, mem_mib, disk_gib},
// eta_used: {...}}], oldest first (a pool's utilisation series, or what
// a host page sampled). Returns the plot's box; box.update(points) draws
// new points in the same plot. destroyPlots() lets go of every plot of a
// page that is left (uPlot listens on the window).
export function etaPlot(points, title) {
  const box = document.createElement('div');
  box.className = 'plot';
  box.dataset.points = String(points.length);
  if (points.length === 0) {
    box.textContent = 'no samples in this range yet';
    box.classList.add('empty');
    return box;
  }
  const series = [{}];
  for (const [label, dash] of [['allocated', null], ['used', [6, 4]]]) {
    for (const [, name, colour] of DIMS) {
      series.push({
        label: `${name} ${label}`,
        stroke: colour,
        width: 2,
        dash: dash || undefined,
        points: { show: points.length < 60 },
        value: (u, v) => (v === null || v === undefined ? '-' : (100 * v).toFixed(1) + '%'),
      });
    }
  }
  let data = columns(points);
  const opts = {
    title,
    width: 720,
    height: 240,
    series,
    scales: { y: { range: (u, min, max) => [0, Math.max(1, max)] } },
    axes: [{}, { values: (u, vals) => vals.map((v) => (100 * v).toFixed(0) + '%'), size: 56 }],
  };
  box.update = (pts) => {
    box.dataset.points = String(pts.length);
    data = columns(pts);
    if (box.uplot) box.uplot.setData(data);
  };
  // drawn once the box is in the page, so it can size itself to it
  requestAnimationFrame(() => {
    if (!box.isConnected) return;
    opts.width = Math.max(320, Math.min(1200, box.clientWidth || 720));
    box.uplot = new uPlot(opts, data, box);
  });
  return box;
}

export function destroyPlots(root) {
  for (const box of root.querySelectorAll('.plot'))
    if (box.uplot) {
      box.uplot.destroy();
      box.uplot = null;
    }
}
