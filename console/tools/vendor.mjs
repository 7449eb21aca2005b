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

// The map's offline base layer: Great Britain's outline (with Northern Ireland and Ireland for
// context) from Natural Earth's 1:10m countries (public domain), as world-atlas packages them
// (TopoJSON, ISC). Converted to GeoJSON here, once, with topojson-client, and rounded to about
// 10 m, so that the browser loads one small file and no TopoJSON code. The map draws it under
// the configured tiles, and on its own when there are none or they cannot be reached.
{
  const { createRequire } = await import('node:module');
  const { readFileSync, writeFileSync } = await import('node:fs');
  const require = createRequire(import.meta.url);
  const { feature } = require('topojson-client');
  const topo = JSON.parse(readFileSync(join(root, 'node_modules', 'world-atlas', 'countries-10m.json'), 'utf8'));
  const wanted = { 826: 'United Kingdom', 372: 'Ireland' }; // ISO 3166-1 numeric
  const features = topo.objects.countries.geometries
    .filter((g) => wanted[g.id])
    .map((g) => feature(topo, g));
  if (features.length !== 2) throw new Error('world-atlas countries-10m.json: the United Kingdom or Ireland is missing');
  const round = (k, v) => (typeof v === 'number' ? Math.round(v * 1e4) / 1e4 : v);
  const outlineOut = join(root, 'vendor', 'outline');
  rmSync(outlineOut, { recursive: true, force: true });
  mkdirSync(outlineOut, { recursive: true });
  writeFileSync(join(outlineOut, 'great-britain.json'),
    JSON.stringify({ type: 'FeatureCollection', source: 'Natural Earth 1:10m countries (public domain), via world-atlas 2.0.2', features }, round));
  console.log(`vendored Great Britain's outline into ${outlineOut}`);
}
