// A small Leaflet map of one point. It works without a tile server: its base layer is Great
// Britain's outline (vendor/outline, from Natural Earth via the world-atlas npm package), drawn in
// a pane under the tiles, so the configured tile server's map covers it when there is one and it
// shows on its own when there is none or the tiles cannot be reached. Leaflet and the outline are
// loaded on first use from the console's own vendor/ copy. The map is never silently missing:
// when Leaflet or the outline cannot be loaded the box says so, and what to run.
let loading = null;
let outline = null;

const VENDOR_HINT = 'run ./tools/run, or in the console directory: npm ci && npm run vendor';

function loadLeaflet() {
  if (globalThis.L) return Promise.resolve(globalThis.L);
  loading ??= new Promise((resolve, reject) => {
    const css = document.createElement('link');
    css.rel = 'stylesheet';
    css.href = 'vendor/leaflet/leaflet.css';
    document.head.append(css);
    const s = document.createElement('script');
    s.src = 'vendor/leaflet/leaflet.js';
    s.onload = () => resolve(globalThis.L);
    s.onerror = () => { loading = null; reject(new Error('the map library (Leaflet) could not be loaded')); };
    document.head.append(s);
  });
  return loading;
}

function loadOutline() {
  outline ??= fetch('vendor/outline/great-britain.json').then((r) => {
    if (!r.ok) throw new Error(`the outline of Great Britain could not be loaded (${r.status})`);
    return r.json();
  }).catch((e) => { outline = null; throw e; });
  return outline;
}

// A line of text over the map (or in place of it), for what is missing.
function note(box, text) {
  let n = box.querySelector('.map-note');
  if (!n) {
    n = document.createElement('p');
    n.className = 'map-note';
    n.setAttribute('role', 'status');
    box.append(n);
  }
  n.textContent = text;
}

// The map in `box`, made once: the outline under the configured tiles, and the note when either
// is missing. Null (with the reason shown in the box) when Leaflet cannot be loaded.
async function baseMap(box, mapCfg) {
  box.hidden = false;
  let L;
  try {
    L = await loadLeaflet();
  } catch (e) {
    // No map can be drawn at all: say so where it would be, with the coordinates above it.
    box.dataset.map = 'unavailable';
    note(box, `No map: ${e.message}; ${VENDOR_HINT}.`);
    return null;
  }
  if (!box._map) {
    box.querySelector('.map-note')?.remove();
    const map = L.map(box, { zoomControl: true, attributionControl: true });
    box._map = map;
    // The outline's pane sits under the tiles (tilePane is 200).
    map.createPane('outline').style.zIndex = 150;
    loadOutline().then((geo) => {
      L.geoJSON(geo, {
        pane: 'outline',
        interactive: false,
        attribution: 'Outline: Natural Earth',
        style: { color: '#8fb3d9', weight: 1.5, fillColor: '#1d2b3a', fillOpacity: 1 },
      }).addTo(map);
      box.dataset.map = 'outline';
    }).catch((e) => {
      box.dataset.map = 'no-outline';
      note(box, `No outline: ${e.message}; ${VENDOR_HINT}.`);
    });
    if (mapCfg?.tile_url) {
      let loaded = 0;
      let failed = 0;
      const layer = L.tileLayer(mapCfg.tile_url, { attribution: mapCfg.attribution || '', maxZoom: 19 });
      layer.on('tileload', () => { loaded++; box.dataset.tiles = 'loaded'; });
      layer.on('tileerror', () => {
        failed++;
        if (!loaded && failed >= 2 && map.hasLayer(layer)) {
          // The tile server cannot be reached: the outline stays, and the operator is told.
          map.removeLayer(layer);
          box.dataset.tiles = 'failed';
          if (box._point) map.setZoom(9); // the outline says where in Britain; a street-level view of it says nothing
          note(box, 'Map tiles cannot be loaded: showing the outline of Great Britain only.');
        }
      });
      layer.addTo(map);
    } else {
      box.dataset.tiles = 'none';
    }
  }
  return L;
}

export async function showPoint(box, lat, lon, mapCfg) {
  const L = await baseMap(box, mapCfg);
  if (!L) return;
  box._point = true;
  box._marker ??= L.circleMarker([lat, lon], { radius: 9, color: '#ffd400', weight: 3 }).addTo(box._map);
  // Closer in with tiles; with the outline only, a view that still shows where in Britain it is.
  box._map.setView([lat, lon], box.dataset.tiles === 'loaded' || (mapCfg?.tile_url && box.dataset.tiles !== 'failed') ? 15 : 9);
  box._marker.setLatLng([lat, lon]);
}

// Every polygon and circle of a partner's areas (exact_location.areas), each labelled with its
// area's number, the view fitted to all of them, with a scale bar. A circle's radius is drawn as
// the area it is (metres on the ground), not as a marker.
export async function showAreas(box, areas, mapCfg) {
  const L = await baseMap(box, mapCfg);
  if (!L) return;
  box._areas?.remove();
  const group = L.featureGroup();
  areas.forEach((a, i) => {
    const label = `${i + 1}. ${a.description || ''}`;
    const style = { color: '#4fb3ff', weight: 2, fillOpacity: 0.15 };
    for (const ring of a.polygons || []) L.polygon(ring, style).bindTooltip(label).addTo(group);
    for (const c of a.circles || []) {
      (c.radius_m > 0 ? L.circle([c.lat, c.lon], { ...style, radius: c.radius_m })
        : L.circleMarker([c.lat, c.lon], { radius: 7, color: '#ffd400', weight: 3 })).bindTooltip(label).addTo(group);
    }
  });
  // The view first (a circle's bounds need a map with a view): every point, and each circle's
  // extent in degrees.
  const pts = [];
  for (const a of areas) {
    for (const ring of a.polygons || []) pts.push(...ring);
    for (const c of a.circles || []) {
      const dLat = (c.radius_m || 0) / 111320;
      const dLon = dLat / Math.max(Math.cos((c.lat * Math.PI) / 180), 0.01);
      pts.push([c.lat - dLat, c.lon - dLon], [c.lat + dLat, c.lon + dLon]);
    }
  }
  if (pts.length) box._map.fitBounds(L.latLngBounds(pts), { padding: [12, 12], maxZoom: 15 });
  else box._map.setView([54, -2], 5);
  group.addTo(box._map);
  box._areas = group;
  box.dataset.shapes = String(group.getLayers().length);
  if (!box._scale) box._scale = L.control.scale({ imperial: false }).addTo(box._map);
}
