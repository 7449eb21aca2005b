// The areas a partner's alert covers (exact_location.areas, docs/message-model.md): all of them on
// the console's map (map.js: the configured tiles, or Great Britain's outline without them), to
// scale, so that an operator sees at once whether eight départements or one street are meant;
// then each listed in words with its shapes and codes.
import { h } from './util.js';
import { showAreas } from './map.js';

const num = (x) => typeof x === 'number' && Number.isFinite(x);
const fixed = (x) => Number(x).toFixed(5);
const radius = (m) => (m >= 1000 ? `${Number((m / 1000).toFixed(2))} km` : `${Math.round(m)} m`);

// One area in words: its description, then a line per shape and its codes.
function areaWords(a, n) {
  const lines = [];
  for (const ring of a.polygons || []) {
    const pts = ring.filter((p) => Array.isArray(p) && num(p[0]) && num(p[1]));
    if (!pts.length) continue;
    const lat = pts.reduce((t, p) => t + p[0], 0) / pts.length;
    const lon = pts.reduce((t, p) => t + p[1], 0) / pts.length;
    lines.push(`Polygon of ${ring.length} points around ${fixed(lat)}, ${fixed(lon)}`);
  }
  for (const c of a.circles || []) {
    if (!num(c.lat) || !num(c.lon)) continue;
    lines.push(c.radius_m > 0 ? `Circle around ${fixed(c.lat)}, ${fixed(c.lon)}, radius ${radius(c.radius_m)}`
      : `Point ${fixed(c.lat)}, ${fixed(c.lon)}`);
  }
  const codes = (a.geocodes || []).map((g) => `${g.name} ${g.value}`);
  if (codes.length) lines.push(`Codes: ${codes.slice(0, 8).join(', ')}${codes.length > 8 ? ` and ${codes.length - 8} more` : ''}`);
  return h('li', { class: 'area', 'data-area': n },
    h('div', { class: 'lead' }, h('span', { class: 'area-no', text: String(n) }), ' ', a.description || ''),
    lines.map((l) => h('div', { class: 'area-shape', text: l })));
}

// The areas under the exact location: the map, then each in words. The transfer screen redraws on
// every live event; the same areas keep the same block (and its map) instead of a new one.
let last = { key: null, el: null };
export function areasBlock(areas, mapCfg) {
  if (!Array.isArray(areas) || !areas.length) return null;
  const key = JSON.stringify(areas);
  if (last.key === key && last.el) return last.el;
  const box = h('div', { class: 'map area-map', id: 'area-map', role: 'img',
    'aria-label': `Map of the ${areas.length} area${areas.length === 1 ? '' : 's'} listed below` });
  const el = h('div', { class: 'areas', id: 'areas' },
    h('div', { class: 'part-label', text: `${areas.length} area${areas.length === 1 ? '' : 's'} given` }),
    box,
    h('ol', { class: 'plain area-list' }, areas.map((a, i) => areaWords(a, i + 1))));
  last = { key, el };
  // Leaflet measures its box: draw once the screen has put the block in the page.
  setTimeout(() => { showAreas(box, areas, mapCfg); }, 0);
  return el;
}
