// Copies Leaflet's and Chart.js's distribution files out of node_modules into vendor/, so that
// the gateway serves them from its own origin (the CSP allows no third-party scripts or styles).
import { cpSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'node_modules', 'leaflet', 'dist');
const out = join(root, 'vendor', 'leaflet');

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
for (const f of ['leaflet.js', 'leaflet.css']) cpSync(join(dist, f), join(out, f));
cpSync(join(dist, 'images'), join(out, 'images'), { recursive: true });
console.log(`vendored Leaflet into ${out}`);

// Chart.js (the managers' report charts): its self-contained UMD build, which defines Chart.
const chartOut = join(root, 'vendor', 'chartjs');
rmSync(chartOut, { recursive: true, force: true });
mkdirSync(chartOut, { recursive: true });
cpSync(join(root, 'node_modules', 'chart.js', 'dist', 'chart.umd.min.js'), join(chartOut, 'chart.umd.min.js'));
console.log(`vendored Chart.js into ${chartOut}`);
