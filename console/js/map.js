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

export async function showPoint(box, lat, lon, mapCfg) {
  box.hidden = false;
  let L;
  try {
    L = await loadLeaflet();
  } catch (e) {
    // No map can be drawn at all: say so where it would be, with the coordinates above it.
    box.dataset.map = 'unavailable';
    note(box, `No map: ${e.message}; ${VENDOR_HINT}.`);
    return;
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
          map.setZoom(9); // the outline says where in Britain; a street-level view of it says nothing
          note(box, 'Map tiles cannot be loaded: showing the outline of Great Britain only.');
        }
      });
      layer.addTo(map);
    } else {
      box.dataset.tiles = 'none';
    }
    box._marker = L.circleMarker([lat, lon], { radius: 9, color: '#ffd400', weight: 3 }).addTo(map);
  }
  // Closer in with tiles; with the outline only, a view that still shows where in Britain it is.
  box._map.setView([lat, lon], box.dataset.tiles === 'loaded' || (mapCfg?.tile_url && box.dataset.tiles !== 'failed') ? 15 : 9);
  box._marker.setLatLng([lat, lon]);
}
