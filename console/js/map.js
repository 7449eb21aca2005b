// A small Leaflet map of one point, only when a tile server is configured. Leaflet is loaded on
// first use from the console's own vendor/ copy. If tiles cannot be loaded, the map is removed
// and the coordinates (always shown above it) are all that remains: never a broken grey box.
let loading = null;

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
    s.onerror = () => reject(new Error('Leaflet could not be loaded'));
    document.head.append(s);
  });
  return loading;
}

export async function showPoint(box, lat, lon, mapCfg) {
  if (!mapCfg?.tile_url) {
    box.hidden = true;
    return;
  }
  let L;
  try {
    L = await loadLeaflet();
  } catch {
    box.hidden = true;
    return;
  }
  box.hidden = false;
  if (!box._map) {
    const map = L.map(box, { zoomControl: true, attributionControl: true });
    let loaded = 0;
    let failed = 0;
    const layer = L.tileLayer(mapCfg.tile_url, { attribution: mapCfg.attribution || '', maxZoom: 19 });
    layer.on('tileload', () => { loaded++; });
    layer.on('tileerror', () => {
      failed++;
      if (!loaded && failed >= 2) {
        map.remove();
        box._map = null;
        box.hidden = true;
        box.dataset.tiles = 'failed';
      }
    });
    layer.addTo(map);
    box._map = map;
    box._marker = L.circleMarker([lat, lon], { radius: 9, color: '#ffd400', weight: 3 }).addTo(map);
  }
  if (!box._map) return;
  box._map.setView([lat, lon], 15);
  box._marker.setLatLng([lat, lon]);
}
