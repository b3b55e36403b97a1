// plot.js - eta over time with uPlot (a canvas: thousands of points stay
// fast). The number of points drawn is kept in the box's data-points.
import uPlot from './uplot.esm.js';

const DIMS = [
  ['vcpus', 'vCPU', '#1d4f91'],
  ['mem_mib', 'memory', '#b5651d'],
  ['disk_gib', 'disk', '#2e7d32'],
];

// points: [{time_ms, eta_allocated: {vcpus, mem_mib, disk_gib},
// eta_used: {...}}], oldest first (a pool's utilisation series, or what
// a host page sampled). Returns the plot's box.
export function etaPlot(points, title) {
  const box = document.createElement('div');
  box.className = 'plot';
  box.dataset.points = String(points.length);
  const xs = points.map((p) => p.time_ms / 1000);
  const data = [xs];
  const series = [{}];
  for (const [kind, label, dash] of [['eta_allocated', 'allocated', null], ['eta_used', 'used', [6, 4]]]) {
    for (const [dim, name, colour] of DIMS) {
      data.push(points.map((p) => (p[kind] && p[kind][dim] !== undefined ? p[kind][dim] : null)));
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
  if (points.length === 0) {
    box.textContent = 'no samples in this range yet';
    box.classList.add('empty');
    return box;
  }
  const opts = {
    title,
    width: 720,
    height: 240,
    series,
    scales: { y: { range: (u, min, max) => [0, Math.max(1, max)] } },
    axes: [{}, { values: (u, vals) => vals.map((v) => (100 * v).toFixed(0) + '%'), size: 56 }],
  };
  // placed first so it can size itself to the page
  requestAnimationFrame(() => {
    opts.width = Math.max(320, Math.min(1200, box.clientWidth || 720));
    box.uplot = new uPlot(opts, data, box);
  });
  return box;
}
